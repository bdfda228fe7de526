-- Shared by the bench wrk scripts: auth header, thread numbering.
local token = os.getenv("BENCH_TOKEN") or "bench"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "application/scim+json"

local threads = {}
local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
