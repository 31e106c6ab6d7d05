-- wrk script for bench/serve_bench.py: POST /translate, one sentence of $SENTENCES per request,
-- cycling through the file; each wrk thread starts at another offset.
local sentences = {}
for line in io.lines(os.getenv("SENTENCES")) do
  sentences[#sentences + 1] = '{"q":"' .. line:gsub('\\', '\\\\'):gsub('"', '\\"') .. '","source":"auto","target":"' ..
                              os.getenv("TARGET") .. '"}'
end
local next_index = 0
function setup(thread)
  thread:set("next_index", math.random(#sentences) - 1)
end
function request()
  next_index = next_index % #sentences + 1
  return wrk.format("POST", "/translate", {["Content-Type"] = "application/json"}, sentences[next_index])
end
