# sandboxctl's Node runner entry (the image's entrypoint, run by /bin/sh):
#   runner.sh plugin --entrypoint FILE [--bundle DIR]
# The shell does what Node cannot (dup2): the plugin host runs with fd 3 as the real stdout,
# the protocol channel, and fd 1 as stderr, so a plugin's console.log only adds to the log.
# exec: the container holds one Node process, not a Node parent that spawns a second one to
# get those descriptors (a Node start is the most expensive part of a plugin run under gVisor).
# (node /opt/sandboxctl/runner.js ... still runs the plugin host the old way, in a child.)
exec node /opt/sandboxctl/plugin-host.mjs "$@" 3>&1 1>&2
