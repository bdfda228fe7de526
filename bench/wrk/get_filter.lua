-- GET /Users?filter=userName eq "seed<k>@example.com" for a random seeded user k.
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")
local users = tonumber(os.getenv("BENCH_USERS") or "1000")
function init(args) math.randomseed(os.time() * 1000 + tid) end
function request()
  local k = math.random(1, users)
  return wrk.format("GET", BASE .. "/Users?filter=userName%20eq%20%22seed" .. k .. "%40example.com%22")
end
