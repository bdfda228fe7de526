-- GET /Users?filter=userName eq "seed<k>@example.com" for a random seeded user k.
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")
function request()
  local k = math.random(1, USERS)
  return wrk.format("GET", BASE .. "/Users?filter=userName%20eq%20%22seed" .. k .. "%40example.com%22")
end
