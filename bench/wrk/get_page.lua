-- GET /Users?startIndex=<random>&count=100: random deep pages (no walk to continue: OFFSET).
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")
local users = tonumber(os.getenv("BENCH_USERS") or "1000")
function init(args) math.randomseed(os.time() * 1000 + tid) end
function request()
  local s = math.random(1, math.max(1, users - 100))
  return wrk.format("GET", BASE .. "/Users?startIndex=" .. s .. "&count=100")
end
