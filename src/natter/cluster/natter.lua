#!lua name=natter
-- natterd's cluster state in Redis (spec/natter.md section 17), as one
-- library of functions: every change to the room is one atomic call, so a
-- lease, the room's list and the log's entry never disagree, and a node's
-- retry of a call whose answer it lost changes nothing twice.
--
-- Every function takes the key prefix as its first argument and names its
-- keys from it (the library is for a single Redis, hence 'no-cluster'):
--   <p>epoch          the epoch of the log's message ids (N-MSG-6)
--   <p>log            the room's log, a stream (N-CLU-2)
--   <p>events         the number of the newest log entry (gaps show as jumps)
--   <p>msgs           the id of the newest message (N-MSG-5)
--   <p>room           hash: folded nick -> "<nick> <node> <client>"
--   <p>nick:<folded>  the nick's lease: "<node> <client>", expiring
--   <p>nodes          set of the nodes that registered
--   <p>alive:<node>   the node's own lease: its run id, expiring
--   <p>members:<node> set of the folded nicks of the node's clients
--   <p>dedup:<node>   hash: run, seq (the newest call applied), r<seq> answers
--   <p>inbox:<node>   the node's TELLs, a stream
-- A log entry's fields: e (its number), m (the newest message id, this
-- one's for a MSG), t (J, N, M or Q), n (the nick), o (NICK: the old nick),
-- x (MSG: text, QUIT: reason), i (MSG: id), d and c (JOIN, NICK, MSG: the
-- node and client whose command it was).

local function k(p, name) return p .. name end

-- Appends an entry to the log, numbered, trimmed to about `max` entries;
-- it carries the newest message id too, so a node that missed entries
-- knows where the ids stand (N-CLU-23).
local function append(p, max, fields)
  local e = redis.call('INCR', k(p, 'events'))
  local m = redis.call('GET', k(p, 'msgs')) or '0'
  local argv = {'XADD', k(p, 'log'), 'MAXLEN', '~', max, '*', 'e', e, 'm', m}
  for i = 1, #fields do argv[#argv + 1] = fields[i] end
  return redis.call(unpack(argv))
end

local function split(s)
  local out = {}
  for w in string.gmatch(s, '%S+') do out[#out + 1] = w end
  return out
end

-- Removes the client holding `folded` from the room, as `reason` says.
local function depart(p, max, node, folded, reason)
  local entry = redis.call('HGET', k(p, 'room'), folded)
  if not entry then return false end
  local f = split(entry)
  local lease = redis.call('GET', k(p, 'nick:' .. folded))
  if lease == f[2] .. ' ' .. f[3] then redis.call('DEL', k(p, 'nick:' .. folded)) end
  redis.call('HDEL', k(p, 'room'), folded)
  redis.call('SREM', k(p, 'members:' .. node), folded)
  append(p, max, {'t', 'Q', 'n', f[1], 'x', reason})
  return true
end

-- Every client of `node` leaves with "node lost" (N-CLU-13); the node is
-- no longer registered.
local function reap(p, max, node)
  local lost = redis.call('SMEMBERS', k(p, 'members:' .. node))
  for _, folded in ipairs(lost) do
    local entry = redis.call('HGET', k(p, 'room'), folded)
    if entry and split(entry)[2] == node then
      depart(p, max, node, folded, 'node lost')
    end
  end
  -- The numbering of its calls stays: a run that comes back retries calls
  -- whose answers it lost, and they must not be applied twice (N-CLU-10).
  redis.call('DEL', k(p, 'members:' .. node), k(p, 'alive:' .. node))
  redis.call('SREM', k(p, 'nodes'), node)
  return #lost
end

-- The nick of the client the room lists under `folded`, if it is `node`'s
-- client `client`; else nil.
local function own(p, node, client, folded)
  local entry = redis.call('HGET', k(p, 'room'), folded)
  if not entry then return nil end
  local nick, n, c = string.match(entry, '^(%S+) (%S+) (%S+)$')
  if n ~= node or c ~= client then return nil end
  return nick
end

local function last_id(key)
  local r = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if #r == 0 then return '0-0' end
  return r[1][1]
end

-- The answer to call `seq` of `node`'s run `run` if it was applied already,
-- else nil. A run that is not registered now (its place was lost, or this
-- Redis never saw it) is an error the node answers by registering again.
local function applied(p, node, run, seq)
  local d = redis.call('HMGET', k(p, 'dedup:' .. node), 'run', 'seq')
  if d[1] == run and tonumber(seq) <= tonumber(d[2]) then
    return redis.call('HGET', k(p, 'dedup:' .. node), 'r' .. seq) or 'ok'
  end
  if d[1] ~= run or redis.call('GET', k(p, 'alive:' .. node)) ~= run then
    return redis.error_reply('NATTERLOST node ' .. node .. ' is not registered')
  end
  return nil
end

-- Records call `seq` as applied, with its answer when it has one to keep.
local function done(p, node, seq, answer)
  local key = k(p, 'dedup:' .. node)
  redis.call('HSET', key, 'seq', seq)
  if answer ~= nil then
    redis.call('HSET', key, 'r' .. seq, answer)
    redis.call('HDEL', key, 'r' .. (tonumber(seq) - 4096))
  end
  return answer or 'ok'
end

-- hello(p, node, run, ttl_ms, max, epoch_if_new) -> {status, epoch, log id, events, msgs}
-- status: "new" (registered; a predecessor's clients were reaped), "same"
-- (this run is still registered), "lost" (this run's place was lost: its
-- clients must be registered again). A node name held by another live run
-- is an error.
redis.register_function{function_name = 'natter_hello', flags = {'no-cluster'},
  callback = function(keys, a)
  local p, node, run, ttl, max, fresh = a[1], a[2], a[3], a[4], a[5], a[6]
  redis.call('SET', k(p, 'epoch'), fresh, 'NX')
  local holder = redis.call('GET', k(p, 'alive:' .. node))
  local status
  if holder == run then
    status = 'same'
  elseif holder then
    return redis.error_reply('NATTERNODE node name ' .. node .. ' is in use by a running node')
  else
    -- Not registered now: new, or this run's place was lost (it expired
    -- and was reaped, or Redis lost its data). A predecessor's clients, or
    -- this run's own, leave first; a run that carries on keeps its numbering.
    local d = redis.call('HMGET', k(p, 'dedup:' .. node), 'run', 'seq')
    status = (d[1] == run) and 'lost' or 'new'
    reap(p, max, node)
    redis.call('HSET', k(p, 'dedup:' .. node), 'run', run, 'seq', status == 'lost' and d[2] or 0)
    redis.call('SET', k(p, 'alive:' .. node), run, 'PX', ttl)
    redis.call('SADD', k(p, 'nodes'), node)
  end
  return {status, redis.call('GET', k(p, 'epoch')), last_id(k(p, 'log')),
          tonumber(redis.call('GET', k(p, 'events')) or '0'),
          tonumber(redis.call('GET', k(p, 'msgs')) or '0')}
end}

-- beat(p, node, run, ttl_ms, max) -> {status, lost folded nicks...}
-- Renews the node's leases; a lease now naming another client is reported
-- (N-CLU-16). Then reaps every node whose own lease expired (N-CLU-13).
redis.register_function{function_name = 'natter_beat', flags = {'no-cluster'},
  callback = function(keys, a)
  local p, node, run, ttl, max = a[1], a[2], a[3], a[4], a[5]
  local out = {}
  if redis.call('GET', k(p, 'alive:' .. node)) ~= run then
    out[1] = 'lost'
  else
    out[1] = 'ok'
    redis.call('PEXPIRE', k(p, 'alive:' .. node), ttl)
    for _, folded in ipairs(redis.call('SMEMBERS', k(p, 'members:' .. node))) do
      local entry = redis.call('HGET', k(p, 'room'), folded)
      local f = entry and split(entry)
      local lease = redis.call('GET', k(p, 'nick:' .. folded))
      if f and f[2] == node and lease == f[2] .. ' ' .. f[3] then
        redis.call('PEXPIRE', k(p, 'nick:' .. folded), ttl)
      elseif f and f[2] == node and not lease then
        redis.call('SET', k(p, 'nick:' .. folded), f[2] .. ' ' .. f[3], 'PX', ttl)
      else
        out[#out + 1] = folded
        redis.call('SREM', k(p, 'members:' .. node), folded)
      end
    end
  end
  for _, other in ipairs(redis.call('SMEMBERS', k(p, 'nodes'))) do
    if redis.call('EXISTS', k(p, 'alive:' .. other)) == 0 then reap(p, max, other) end
  end
  return out
end}

-- join(p, node, run, seq, client, nick, folded, ttl_ms, max) -> "ok" | "in_use"
redis.register_function{function_name = 'natter_join', flags = {'no-cluster'},
  callback = function(keys, a)
  local p, node, run, seq, client, nick, folded, ttl, max =
    a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]
  local seen = applied(p, node, run, seq)
  if seen then return seen end
  local me = node .. ' ' .. client
  local lease = redis.call('GET', k(p, 'nick:' .. folded))
  -- Held by another client, or still in the room with its lease expired
  -- (its node is about to be reaped).
  local listed = redis.call('HEXISTS', k(p, 'room'), folded) == 1
  if (lease and lease ~= me) or (listed and not lease) then
    return done(p, node, seq, 'in_use')
  end
  redis.call('SET', k(p, 'nick:' .. folded), me, 'PX', ttl)
  redis.call('HSET', k(p, 'room'), folded, nick .. ' ' .. me)
  redis.call('SADD', k(p, 'members:' .. node), folded)
  append(p, max, {'t', 'J', 'n', nick, 'd', node, 'c', client})
  return done(p, node, seq, 'ok')
end}

-- rename(p, node, run, seq, client, old folded, nick, folded, ttl_ms, max)
-- -> "ok" | "in_use" | "gone" (the client is not in the room)
redis.register_function{function_name = 'natter_rename', flags = {'no-cluster'},
  callback = function(keys, a)
  local p, node, run, seq, client, was, nick, folded, ttl, max =
    a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]
  local seen = applied(p, node, run, seq)
  if seen then return seen end
  local me = node .. ' ' .. client
  local old = own(p, node, client, was)
  if not old then return done(p, node, seq, 'gone') end
  if folded ~= was then
    local lease = redis.call('GET', k(p, 'nick:' .. folded))
    if lease or redis.call('HEXISTS', k(p, 'room'), folded) == 1 then
      return done(p, node, seq, 'in_use')
    end
    redis.call('DEL', k(p, 'nick:' .. was))
    redis.call('HDEL', k(p, 'room'), was)
    redis.call('SREM', k(p, 'members:' .. node), was)
    redis.call('SADD', k(p, 'members:' .. node), folded)
  end
  redis.call('SET', k(p, 'nick:' .. folded), me, 'PX', ttl)
  redis.call('HSET', k(p, 'room'), folded, nick .. ' ' .. me)
  append(p, max, {'t', 'N', 'o', old, 'n', nick, 'd', node, 'c', client})
  return done(p, node, seq, 'ok')
end}

-- msg(p, node, run, seq, client, folded, text, max) -> "ok" | "gone"
redis.register_function{function_name = 'natter_msg', flags = {'no-cluster'},
  callback = function(keys, a)
  local p, node, run, seq, client, folded, text, max = a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]
  local seen = applied(p, node, run, seq)
  if seen then return seen end
  local nick = own(p, node, client, folded)
  if not nick then return done(p, node, seq, 'gone') end
  -- append()'s entry, written out: this is the path every message takes.
  local id = redis.call('INCR', k(p, 'msgs'))
  local e = redis.call('INCR', k(p, 'events'))
  redis.call('XADD', k(p, 'log'), 'MAXLEN', '~', max, '*', 'e', e, 'm', id,
             't', 'M', 'n', nick, 'x', text, 'i', id, 'd', node, 'c', client)
  return done(p, node, seq)
end}

-- quit(p, node, run, seq, client, folded, or folded, reason, max) -> "ok"
-- The client holds one of the two nicks, if any (a rename may have been on
-- its way).
redis.register_function{function_name = 'natter_quit', flags = {'no-cluster'},
  callback = function(keys, a)
  local p, node, run, seq, client, folded, other, reason, max =
    a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]
  local seen = applied(p, node, run, seq)
  if seen then return seen end
  if own(p, node, client, folded) then
    depart(p, max, node, folded, reason)
  elseif other ~= '' and own(p, node, client, other) then
    depart(p, max, node, other, reason)
  end
  return done(p, node, seq)
end}

-- tell(p, node, run, seq, from nick, to folded, text, max) -> "ok" | "none"
redis.register_function{function_name = 'natter_tell', flags = {'no-cluster'},
  callback = function(keys, a)
  local p, node, run, seq, from, to, text, max = a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]
  local seen = applied(p, node, run, seq)
  if seen then return seen end
  local entry = redis.call('HGET', k(p, 'room'), to)
  if not entry then return done(p, node, seq, 'none') end
  local f = split(entry)
  redis.call('XADD', k(p, 'inbox:' .. f[2]), 'MAXLEN', '~', max, '*', 'n', from, 'x', text, 'c', f[3])
  return done(p, node, seq, 'ok')
end}

-- tip(p, node) -> {log id, inbox id}: where a barrier must have read to (N-CLU-9).
redis.register_function{function_name = 'natter_tip', flags = {'no-cluster', 'no-writes'},
  callback = function(keys, a)
  return {last_id(k(a[1], 'log')), last_id(k(a[1], 'inbox:' .. a[2]))}
end}

-- room(p) -> {log id, events, msgs, epoch, "<nick> <node> <client>"...}: the
-- room's list and where the log stood, for a node starting or after a gap.
redis.register_function{function_name = 'natter_room', flags = {'no-cluster', 'no-writes'},
  callback = function(keys, a)
  local p = a[1]
  local out = {last_id(k(p, 'log')), tonumber(redis.call('GET', k(p, 'events')) or '0'),
               tonumber(redis.call('GET', k(p, 'msgs')) or '0'), redis.call('GET', k(p, 'epoch')) or ''}
  for _, v in ipairs(redis.call('HVALS', k(p, 'room'))) do out[#out + 1] = v end
  return out
end}
