-- Token buckets, taken together or not at all.
-- KEYS[i]: bucket i (a hash: tokens, updated-at in microseconds).
-- ARGV[1]: cost; then per bucket: count, period in microseconds, burst.
-- Returns {1, 0} when every bucket had the tokens (now taken), else
-- {0, wait} with wait the microseconds until all of them will have.
--
-- Every argument is an integer and every stored number is written in plain
-- decimal (string.format), never by tostring: Lua interpreters disagree on
-- exponent notation (Redis's prints 1e-05 and reads it back, the one in the
-- embedded miniredis reads "2e-05" as nil), so the script must not depend
-- on it. The rate (count / period) is computed here for the same reason.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
local level, wait = {}, 0
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[3 * i - 1])
  local period = tonumber(ARGV[3 * i])
  local burst = tonumber(ARGV[3 * i + 1])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1]) or burst
  local at = tonumber(state[2]) or now
  if now > at then tokens = math.min(burst, tokens + (now - at) * count / period) end
  level[i] = tokens
  if tokens < cost then
    wait = math.max(wait, math.ceil((cost - tokens) * period / count))
  end
end
if wait > 0 then return {0, wait} end
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[3 * i - 1])
  local period = tonumber(ARGV[3 * i])
  local burst = tonumber(ARGV[3 * i + 1])
  -- Rounded down to a millionth of a token: never a token early.
  local left = math.floor((level[i] - cost) * 1000000) / 1000000
  redis.call('HSET', key, 'tokens', string.format('%.6f', left), 'at', string.format('%d', now))
  -- A full bucket needs no state: let it expire once it would be full.
  local ttl = math.ceil(burst * period / count / 1000) + 1000
  redis.call('PEXPIRE', key, string.format('%d', ttl))
end
return {1, 0}
