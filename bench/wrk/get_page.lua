-- GET /Users?startIndex=<random>&count=100: random deep pages (no walk to continue: OFFSET).
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")
function request()
  local s = math.random(1, math.max(1, USERS - 100))
  return wrk.format("GET", BASE .. "/Users?startIndex=" .. s .. "&count=100")
end
