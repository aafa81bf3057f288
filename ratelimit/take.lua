-- Token buckets, taken together or not at all.
-- KEYS[i]: bucket i (a hash: tokens, updated-at in microseconds).
-- ARGV[1]: cost; then per bucket: refill in tokens per microsecond, burst.
-- Returns {1, 0} when every bucket had the tokens (now taken), else
-- {0, wait} with wait the microseconds until all of them will have.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
local level, wait = {}, 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1]) or burst
  local at = tonumber(state[2]) or now
  if now > at then tokens = math.min(burst, tokens + (now - at) * rate) end
  level[i] = tokens
  if tokens < cost then
    wait = math.max(wait, math.ceil((cost - tokens) / rate))
  end
end
if wait > 0 then return {0, wait} end
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  redis.call('HSET', key, 'tokens', tostring(level[i] - cost), 'at', tostring(now))
  -- A full bucket needs no state: let it expire once it would be full.
  redis.call('PEXPIRE', key, math.ceil(burst / rate / 1000) + 1000)
end
return {1, 0}
