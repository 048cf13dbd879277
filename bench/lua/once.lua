-- POST BENCH_PATH with each token of BENCH_TOKEN_FILE (one a line) used once, as
-- {"BENCH_FIELD": token} (default "refresh"): for endpoints whose second call with the same
-- token is a different, cheaper answer (blacklist, revoke). Thread i of n takes lines i, i+n,
-- …; once a thread has used all of its tokens it sends "exhausted", which fails (non2xx):
-- give the run more tokens than it can use.
local C = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  pool = {}
  local threads = tonumber(C.need("BENCH_THREADS"))
  local n = 0
  for line in io.lines(C.need("BENCH_TOKEN_FILE")) do
    if n % threads == id then table.insert(pool, line) end
    n = n + 1
  end
  path = C.need("BENCH_PATH")
  field = os.getenv("BENCH_FIELD") or "refresh"
end

function request()
  local token = table.remove(pool)
  if token == nil then token = "exhausted" end
  return wrk.format("POST", path, {["Content-Type"] = "application/json"},
    '{"' .. field .. '":"' .. token .. '"}')
end

done = C.done
