-- Refresh with rotation: every refresh token is used once. Each thread keeps a pool of
-- tokens (one per connection, from BENCH_TOKENS); a request takes one, its response puts
-- the new one back.
local C = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  pool = {}
  local all = {}
  for t in string.gmatch(C.need("BENCH_TOKENS"), "%S+") do table.insert(all, t) end
  local threads = tonumber(C.need("BENCH_THREADS"))
  for i = id + 1, #all, threads do table.insert(pool, all[i]) end
end

function request()
  local token = table.remove(pool)
  if token == nil then token = "exhausted" end
  return wrk.format("POST", "/api/token/refresh/", {["Content-Type"] = "application/json"},
    '{"refresh":"' .. token .. '"}')
end

function response(status, headers, body)
  local token = string.match(body, '"refresh":"([^"]+)"')
  if token ~= nil then table.insert(pool, token) end
end

done = C.done
