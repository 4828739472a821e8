# Re-exports the builtin plugin installed in the runner image (Beancount 2.3.5),
# so it runs exactly as Beancount's loader would run it, but in a sandbox.
from beancount.plugins.check_closing import *  # noqa: F401,F403
from beancount.plugins.check_closing import __plugins__  # noqa: F401
