"""resnet_lab's entry point: `python run.py [overrides]`, `python run.py -m [sweep overrides]`.

Examples:
    python run.py                                        # ResNet-20 on CIFAR-10, the paper's recipe
    python run.py model.depth=56 model.residual=false    # plain-56
    python run.py -m model.depth=20,56,110 model.residual=true,false
    python run.py experiment=figure6                     # a whole study (see conf/experiment/)
"""

import sys

import hydra
from omegaconf import DictConfig

from resnet_lab.cli import check_overrides, run_job


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig):
    return run_job(cfg)


if __name__ == "__main__":
    check_overrides(sys.argv[1:])  # unknown keys: name the nearest valid one
    main()
