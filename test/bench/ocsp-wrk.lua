-- wrk script for `npm run bench:ocsp` (test/bench/ocsp.ts): POST /ocsp with DER OCSP requests,
-- cycling through the population's requests.
--
--   wrk -t1 -c16 -d10s --latency -s test/bench/ocsp-wrk.lua http://127.0.0.1:PORT/ocsp -- REQUESTS_FILE
--
-- REQUESTS_FILE holds the DER requests one after another, each preceded by its length as two
-- bytes, big-endian. Every request is formatted once, in init(); request() only hands them out.
-- No response() callback: with one, wrk would parse every response for Lua and slow itself down.

-- wrk's own wrk.resolve test-connects to the server and closes the socket at once, before the run.
-- That empty connection makes `openssl ocsp` (3.0) read EOF forever on it and never accept another
-- one; the addresses are taken as looked up instead (the server is known to be listening).
function wrk.resolve(host, service)
  wrk.addrs = wrk.lookup(host, service)
end

local requests = {}
local count = 0
local nextIndex = 0

function init(args)
  local path = args[1]
  assert(path, 'usage: wrk ... -s ocsp-wrk.lua URL -- REQUESTS_FILE')
  local file = assert(io.open(path, 'rb'))
  local data = file:read('*a')
  file:close()
  local headers = {
    ['Host'] = wrk.headers['Host'] or wrk.host,
    ['Content-Type'] = 'application/ocsp-request',
  }
  local pos = 1
  while pos <= #data do
    local hi, lo = data:byte(pos, pos + 1)
    assert(lo, 'truncated length prefix in ' .. path)
    local length = hi * 256 + lo
    local body = data:sub(pos + 2, pos + 1 + length)
    assert(#body == length, 'truncated request in ' .. path)
    count = count + 1
    -- wrk.format sets Content-Length from the body (a Lua string: binary-safe).
    requests[count] = wrk.format('POST', wrk.path, headers, body)
    pos = pos + 2 + length
  end
  assert(count > 0, 'no requests in ' .. path)
end

function request()
  nextIndex = nextIndex % count + 1
  return requests[nextIndex]
end
