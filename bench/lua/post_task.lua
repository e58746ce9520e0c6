-- POST /api/v1/tasks for users listed in the file named by USERS_FILE (one id per line).
local ids = {}
for line in io.lines(os.getenv("USERS_FILE")) do ids[#ids + 1] = line end
local counter = 0
-- TOKEN, when set, is sent as a bearer token.
headers = {["Content-Type"] = "application/json"}
if os.getenv("TOKEN") then headers["Authorization"] = "Bearer " .. os.getenv("TOKEN") end
request = function()
  counter = counter + 1
  local body = '{"user_id":"' .. ids[(counter % #ids) + 1] .. '","title":"bench ' .. counter .. '"}'
  return wrk.format("POST", nil, headers, body)
end
