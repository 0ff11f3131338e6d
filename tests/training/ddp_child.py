"""One process of the 2-process DDP test (started by torch.distributed.run): trains the test's
tiny model and, on rank 0, writes the losses."""

import json
import sys

import torch.distributed as dist

from tests.training.test_ddp import run_tiny

if __name__ == "__main__":
    dist.init_process_group("gloo")
    losses = run_tiny(sys.argv[1])
    if dist.get_rank() == 0:
        with open(sys.argv[2], "w") as f:
            json.dump(losses, f)
    dist.destroy_process_group()
