-- POST BENCH_BODY (JSON) to BENCH_PATH.
local C = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
wrk.method = "POST"
wrk.path = C.need("BENCH_PATH")
wrk.headers["Content-Type"] = "application/json"
wrk.body = C.need("BENCH_BODY")
done = C.done
