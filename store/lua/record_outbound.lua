-- Record an outbound message in a query's history as queued.
-- KEYS[1] the contact's key prefix, {sb}:c:<contact id>
-- ARGV[1] query id   ARGV[2] message id   ARGV[3] now in ms
-- ARGV[4] history member   ARGV[5] body (JSON)
-- ARGV[6] status   ARGV[7] status rank   ARGV[8] events channel ("" for none)
-- Returns 1, 0 when the query does not exist, or 2 when a message with this
-- id is already recorded (an auto-reply retried after a failure).
local p = KEYS[1]
local qk = p .. ":q:" .. ARGV[1]
if redis.call("EXISTS", qk) == 0 then
  return 0
end
if redis.call("EXISTS", p .. ":m:" .. ARGV[2]) == 1 then
  return 2
end
redis.call("HSET", p .. ":m:" .. ARGV[2],
  "query", ARGV[1], "dir", "out", "body", ARGV[5], "at", ARGV[3],
  "status", ARGV[6], "status_rank", ARGV[7], "status_at", ARGV[3])
redis.call("ZADD", qk .. ":hist", ARGV[3], ARGV[4])
redis.call("HINCRBY", qk, "outbound_count", 1)
redis.call("HSET", qk, "updated_at", ARGV[3])
if ARGV[8] ~= "" then
  -- The event carries what deciding its visibility needs, so a stream
  -- decides without reading the query back.
  local ev = {type = "message", query_id = ARGV[1], message_id = ARGV[2], direction = "outbound"}
  local st = redis.call("HMGET", qk, "state", "assignee", "type", "channel")
  if st[1] and st[1] ~= "" then ev.state = st[1] end
  if st[2] and st[2] ~= "" then ev.assignee = st[2] end
  if st[3] and st[3] ~= "" then ev.query_type = st[3] end
  if st[4] and st[4] ~= "" then ev.channel = st[4] end
  redis.call("PUBLISH", ARGV[8], cjson.encode(ev))
end
return 1
