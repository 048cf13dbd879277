-- POST BENCH_BODY (JSON) to BENCH_PATH.
local C = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
wrk.method = "POST"
wrk.path = C.need("BENCH_PATH")
wrk.headers["Content-Type"] = "application/json"
wrk.body = C.need("BENCH_BODY")
done = C.done
-- BENCH_DELAY_MS: pause between requests (a light probe rather than a load).
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pause then
  function delay() return pause end
end
