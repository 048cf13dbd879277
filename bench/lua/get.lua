-- GET BENCH_PATH, with "Authorization: Bearer BENCH_TOKEN" when that is set.
local C = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
wrk.method = "GET"
wrk.path = C.need("BENCH_PATH")
local token = os.getenv("BENCH_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
done = C.done
