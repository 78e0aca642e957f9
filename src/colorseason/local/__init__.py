"""The local stack behind `colorseason up`, one module per role.

- :mod:`.up`: starts the whole system in order, serves until a signal, stops it in reverse;
- :mod:`.broker`: the local broker that follows ``eventing/*.yaml`` (events, topology, dispatch,
  ingress);
- :mod:`.webpage`: the web page and the two JSON documents it reads;
- :mod:`.serving`: the stack's own HTTP servers on background threads, and their local URLs;
- :mod:`.embedded`: embedded Redis and PostgreSQL, when no URL names a server;
- :mod:`.servers`: private Redis and PostgreSQL servers that tests and drills stop and start.
"""
