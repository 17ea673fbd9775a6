-- bench/http/wrk.lua: wrk's script for scripts/bench-http.sh.
--
--   wrk ... -s bench/http/wrk.lua http://127.0.0.1:PORT/ -- DEPTH
--
-- DEPTH (default 1) is how many requests ("GET /") each connection sends
-- in one write before it waits for their responses: 1 is plain keep-alive,
-- 16 is pipelining 16 deep. wrk counts every response as a request done,
-- but times a batch as one: with DEPTH above 1 the latency figures are
-- those of a whole batch, from its write to its last response.
--
-- At the end it prints one line the script reads, "result" and key=value
-- pairs: responses, duration_us, latency percentiles in microseconds, and
-- wrk's error counts (status counts responses other than 2xx and 3xx).

function init(args)
  local depth = tonumber(args[1] or "1") or 1
  if depth > 1 then
    -- A request() function of its own makes wrk send what it returns as
    -- one write and count the requests in it as the pipeline's depth.
    local batch = string.rep(wrk.format("GET", "/"), depth)
    request = function()
      return batch
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "result responses=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d " ..
    "mean_us=%.0f connect_errors=%d read_errors=%d write_errors=%d " ..
    "status_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read,
    e.write, e.status, e.timeout))
end
