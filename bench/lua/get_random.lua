-- GET PATH_PREFIX .. a random id from the file named by IDS_FILE.
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local prefix = os.getenv("PATH_PREFIX")
math.randomseed(os.time())
-- TOKEN, when set, is sent as a bearer token.
headers = {["Content-Type"] = "application/json"}
if os.getenv("TOKEN") then headers["Authorization"] = "Bearer " .. os.getenv("TOKEN") end
request = function()
  return wrk.format("GET", prefix .. ids[math.random(#ids)], headers)
end
