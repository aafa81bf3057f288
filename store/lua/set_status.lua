-- Move an outbound message's delivery status forward, never backwards.
-- KEYS[1] the message key   KEYS[2] the contact's key prefix, {sb}:c:<contact id>
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
  -- The event carries what deciding its visibility needs (the query's
  -- state, assignee, type, channel), so a stream decides without reading
  -- the query back.
  local qid = redis.call("HGET", mk, "query")
  local ev = {type = "status", query_id = qid, message_id = ARGV[7], status = ARGV[1]}
  if qid then
    local st = redis.call("HMGET", KEYS[2] .. ":q:" .. qid, "state", "assignee", "type", "channel")
    if st[1] and st[1] ~= "" then ev.state = st[1] end
    if st[2] and st[2] ~= "" then ev.assignee = st[2] end
    if st[3] and st[3] ~= "" then ev.query_type = st[3] end
    if st[4] and st[4] ~= "" then ev.channel = st[4] end
  end
  redis.call("PUBLISH", ARGV[6], cjson.encode(ev))
end
return 1
