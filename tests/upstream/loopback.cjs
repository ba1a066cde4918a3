// loopback.cjs - node --require loopback.cjs SERVER: a server that listens on
// a bare port (app.listen(PORT)) listens on 127.0.0.1 only, not on every
// interface. Used for the upstream MCP servers the tests and the demo run.
'use strict';
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const port = args[0];
  const bare = typeof port === 'number' || (typeof port === 'string' && /^\d+$/.test(port));
  if (bare && typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  return listen.apply(this, args);
};
