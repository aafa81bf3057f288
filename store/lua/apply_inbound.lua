-- Apply one inbound message to its contact, atomically.
-- KEYS[1]  the contact's key prefix, {sb}:c:<contact id>
-- KEYS[2]  the activity index ({sb}:queries:activity)
-- ARGV[1]  contact id          ARGV[2]  channel id
-- ARGV[3]  external id         ARGV[4]  provider message id
-- ARGV[5]  score: provider time in ms
-- ARGV[6]  history member: <arrival>:<message id>
-- ARGV[7]  message body (JSON) ARGV[8]  profile name ("" if none)
-- ARGV[9]  now in ms           ARGV[10] state of a new query
-- ARGV[11] the events channel (PUBLISHed to; "" for none)
-- Returns {applied (0 = duplicate), query id, new query (0/1), late (0/1),
--   routed (0/1: a routing decision has consumed the message; duplicates only)}.
local p = KEYS[1]
local mk = p .. ":m:" .. ARGV[4]
if redis.call("EXISTS", mk) == 1 then
  local routed = 0
  if redis.call("HEXISTS", mk, "routed") == 1 then routed = 1 end
  return {0, redis.call("HGET", mk, "query") or "", 0, 0, routed}
end

local ck = p .. ":contact"
local now = ARGV[9]
local score = tonumber(ARGV[5])
if redis.call("HSETNX", ck, "created_at", now) == 1 then
  redis.call("HSET", ck, "id", ARGV[1], "channel", ARGV[2], "external_id", ARGV[3])
end

-- One open query per contact: created here, under Redis's script atomicity,
-- so two workers cannot both create one.
local qid = redis.call("HGET", ck, "open_query")
local created = 0
if not qid then
  local n = redis.call("HINCRBY", ck, "query_seq", 1)
  qid = ARGV[1] .. "-" .. n
  redis.call("HSET", p .. ":q:" .. qid,
    "id", qid, "contact_id", ARGV[1], "channel", ARGV[2], "state", ARGV[10],
    "created_at", now, "updated_at", now)
  redis.call("HSET", ck, "open_query", qid)
  redis.call("RPUSH", p .. ":queries", qid)
  created = 1
end
local qk = p .. ":q:" .. qid

redis.call("HSET", mk, "query", qid, "dir", "in", "body", ARGV[7], "at", ARGV[5])
redis.call("ZADD", qk .. ":hist", score, ARGV[6])
redis.call("HINCRBY", qk, "inbound_count", 1)
redis.call("HSET", qk, "updated_at", now)
-- Activity only moves forward: a late message does not reorder the list.
redis.call("ZADD", KEYS[2], "GT", score, qid)

-- Provider order is (timestamp, arrival). Times and the profile name move
-- only forward, so the result is the same whatever order workers apply
-- the messages in.
local function newer(key)
  local last = tonumber(redis.call("HGET", key, "last_inbound_at") or "0")
  local lastMember = redis.call("HGET", key, "last_inbound_member") or ""
  return score > last or (score == last and ARGV[6] > lastMember)
end
local late = 1
if newer(qk) then
  redis.call("HSET", qk, "last_inbound_at", ARGV[5], "last_inbound_member", ARGV[6])
  late = 0
end
if newer(ck) then
  redis.call("HSET", ck, "last_inbound_at", ARGV[5], "last_inbound_member", ARGV[6])
  if ARGV[8] ~= "" then
    redis.call("HSET", ck, "profile_name", ARGV[8])
  end
end
if ARGV[11] ~= "" then
  -- The event carries what deciding its visibility needs (state, assignee,
  -- type, channel), so a stream decides without reading the query back.
  local ev = {type = "message", query_id = qid, message_id = ARGV[4], direction = "inbound", channel = ARGV[2]}
  local st = redis.call("HMGET", qk, "state", "assignee", "type")
  if st[1] and st[1] ~= "" then ev.state = st[1] end
  if st[2] and st[2] ~= "" then ev.assignee = st[2] end
  if st[3] and st[3] ~= "" then ev.query_type = st[3] end
  redis.call("PUBLISH", ARGV[11], cjson.encode(ev))
end
return {1, qid, created, late, 0}
