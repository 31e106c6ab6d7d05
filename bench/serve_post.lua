-- wrk script for bench/serve_bench.py: POST /translate, one sentence of $SENTENCES per request,
-- cycling through the file; each wrk thread starts at another offset. With CONNECTION_CLOSE=1 every
-- request asks the server to close its connection, so wrk opens a new one for the next.
local sentences = {}
for line in io.lines(os.getenv("SENTENCES")) do
  sentences[#sentences + 1] = '{"q":"' .. line:gsub('\\', '\\\\'):gsub('"', '\\"') .. '","source":"auto","target":"' ..
                              os.getenv("TARGET") .. '"}'
end
local next_index = 0
function setup(thread)
  thread:set("next_index", math.random(#sentences) - 1)
end
local headers = {["Content-Type"] = "application/json"}
if os.getenv("CONNECTION_CLOSE") == "1" then headers["Connection"] = "close" end
function request()
  next_index = next_index % #sentences + 1
  return wrk.format("POST", "/translate", headers, sentences[next_index])
end
