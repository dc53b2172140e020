"""Files the way every command writes and reads them: atomic writes, the output policy, locks, digests,
the kind of an input.

- `atomic`: a file is written beside its place (in a scratch folder) and renamed in (never
  half-written).
- `modes`: files and folders we make get the modes the umask gives.
- `output`: `claim_output`, the policy of every command that writes a folder or a file
  (refuse what holds something unless resume/force; never an input; one run at a time).
- `lock`: `ExclusiveLock` (a flock naming its PID) and `scratch_dir` (temporary folders a later
  run removes when their run was killed).
- `digest`: `file_digest` and `first_difference`, what a resumed run compares.
- `files`: `check_regular_file`, what every reader asks before it opens a path (a FIFO or a
  device would block it or never end).
"""

from embedlayer._io.atomic import atomic_path, atomic_write
from embedlayer._io.digest import describe_difference, file_digest, first_difference
from embedlayer._io.files import check_regular_file
from embedlayer._io.lock import ExclusiveLock, scratch_dir
from embedlayer._io.modes import default_mode, set_default_modes
from embedlayer._io.output import OutputClaim, claim_output

__all__ = [
    "ExclusiveLock",
    "OutputClaim",
    "atomic_path",
    "atomic_write",
    "check_regular_file",
    "claim_output",
    "default_mode",
    "describe_difference",
    "file_digest",
    "first_difference",
    "scratch_dir",
    "set_default_modes",
]
