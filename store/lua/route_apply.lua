-- Apply a routing decision to a query, if nothing changed since it was made.
-- KEYS[1] the query hash              KEYS[2] operator loads (hash op -> n)
-- KEYS[3] operators' last assignment  KEYS[4] query counts by state
-- KEYS[5] pool prefix ({sb}:pool:)       KEYS[6] assigned-set prefix ({sb}:assigned:)
-- KEYS[7] the contact hash (a closed query stops being its open query)
-- KEYS[8] (optional) the inbound message hash the decision consumes: marked
--   "routed", so a redelivery of the message knows it needs no routing
-- ARGV[1] expected routing version    ARGV[2] routing state (JSON)
-- ARGV[3] new state   ARGV[4] new assignee ("" none)   ARGV[5] new type
-- ARGV[6] capacity of the new assignee  ARGV[7] now (ms)  ARGV[8] query id
-- ARGV[9] pool score (ms) for a pending query   ARGV[10] events channel ("" for none)
-- ARGV[11] the decision's pending effects (JSON; "" for none), kept until
--   the worker has carried them out, so a failure there is retried. They
--   replace any older ones: what an older decision owed is superseded.
-- Returns 1 applied, 0 version conflict, -1 the assignee is at capacity.
local q = KEYS[1]
local rv = tonumber(redis.call("HGET", q, "rv") or "0")
if rv ~= tonumber(ARGV[1]) then
  return 0
end
local oldState = redis.call("HGET", q, "r_state") or ""
local oldAssignee = redis.call("HGET", q, "assignee") or ""
local oldType = redis.call("HGET", q, "type") or ""
local newState, newAssignee, newType = ARGV[3], ARGV[4], ARGV[5]

if newAssignee ~= "" and newAssignee ~= oldAssignee then
  local load = tonumber(redis.call("HGET", KEYS[2], newAssignee) or "0")
  if load >= tonumber(ARGV[6]) then
    return -1
  end
end
if oldAssignee ~= newAssignee then
  if oldAssignee ~= "" then
    local n = redis.call("HINCRBY", KEYS[2], oldAssignee, -1)
    if n < 0 then redis.call("HSET", KEYS[2], oldAssignee, 0) end
    redis.call("SREM", KEYS[6] .. oldAssignee, ARGV[8])
  end
  if newAssignee ~= "" then
    redis.call("HINCRBY", KEYS[2], newAssignee, 1)
    redis.call("HSET", KEYS[3], newAssignee, ARGV[7])
    redis.call("SADD", KEYS[6] .. newAssignee, ARGV[8])
  end
end
if newState == "closed" and redis.call("HGET", KEYS[7], "open_query") == ARGV[8] then
  redis.call("HDEL", KEYS[7], "open_query")
end
if oldState ~= newState then
  if oldState ~= "" then redis.call("HINCRBY", KEYS[4], oldState, -1) end
  redis.call("HINCRBY", KEYS[4], newState, 1)
end
-- Pools hold pending queries by type, oldest first.
if oldType ~= "" and (oldType ~= newType or newState ~= "pending") then
  redis.call("ZREM", KEYS[5] .. oldType, ARGV[8])
end
if newState == "pending" and newType ~= "" then
  redis.call("ZADD", KEYS[5] .. newType, "NX", ARGV[9], ARGV[8])
end
redis.call("HSET", q, "rv", rv + 1, "routing", ARGV[2], "r_state", newState, "state", newState,
  "assignee", newAssignee, "type", newType, "updated_at", ARGV[7])
if ARGV[10] ~= "" and (oldState ~= newState or oldAssignee ~= newAssignee) then
  -- The event carries what deciding its visibility needs, so a stream
  -- decides without reading the query back.
  local ev = {type = "state", query_id = ARGV[8], state = newState}
  if newAssignee ~= "" then ev.assignee = newAssignee end
  if oldAssignee ~= "" then ev.previous_assignee = oldAssignee end
  if newType ~= "" then ev.query_type = newType end
  local ch = redis.call("HGET", q, "channel")
  if ch and ch ~= "" then ev.channel = ch end
  redis.call("PUBLISH", ARGV[10], cjson.encode(ev))
end
if oldAssignee ~= newAssignee and newAssignee ~= "" then
  -- "Answered" is judged against the outbound count at assignment.
  redis.call("HSET", q, "assigned_at", ARGV[7], "assigned_outbound", redis.call("HGET", q, "outbound_count") or "0")
end
if ARGV[11] ~= nil and ARGV[11] ~= "" then
  redis.call("HSET", q, "effects", ARGV[11])
else
  redis.call("HDEL", q, "effects")
end
if KEYS[8] and redis.call("EXISTS", KEYS[8]) == 1 then
  redis.call("HSET", KEYS[8], "routed", rv + 1)
end
return 1
