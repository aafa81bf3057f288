-- Move an outbound message's delivery status forward, never backwards.
-- KEYS[1] the message key
-- ARGV[1] status   ARGV[2] rank (-1: recorded, never the current status)
-- ARGV[3] time in ms   ARGV[4] provider id ("" to keep)   ARGV[5] error JSON ("" if none)
-- ARGV[6] events channel ("" for none)   ARGV[7] message id
-- Returns -1 when the message does not exist, 1 when the status changed, else 0.
local mk = KEYS[1]
if redis.call("EXISTS", mk) == 0 then
  return -1
end
-- The time of every status is kept (sent_at, delivered_at, read_at, ...).
redis.call("HSETNX", mk, ARGV[1] .. "_at", ARGV[3])
if ARGV[4] ~= "" then
  redis.call("HSET", mk, "provider_id", ARGV[4])
end
local rank = tonumber(ARGV[2])
local cur = tonumber(redis.call("HGET", mk, "status_rank") or "-1")
if rank <= cur then
  return 0
end
redis.call("HSET", mk, "status", ARGV[1], "status_rank", rank, "status_at", ARGV[3])
if ARGV[5] ~= "" then
  redis.call("HSET", mk, "error", ARGV[5])
end
if ARGV[6] ~= "" then
  redis.call("PUBLISH", ARGV[6], cjson.encode({type = "status", query_id = redis.call("HGET", mk, "query"), message_id = ARGV[7], status = ARGV[1]}))
end
return 1
