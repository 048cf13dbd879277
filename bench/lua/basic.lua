-- POST BENCH_BODY (JSON) to BENCH_PATH with HTTP Basic credentials BENCH_BASIC (user:secret,
-- already base64-encoded): introspection as an API gateway calls it.
local C = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
wrk.method = "POST"
wrk.path = C.need("BENCH_PATH")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic " .. C.need("BENCH_BASIC")
wrk.body = C.need("BENCH_BODY")
done = C.done
