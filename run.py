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

from resnet_lab.config import register
from resnet_lab.config.command_line import check_overrides

HELP = {"--help", "-h", "--hydra-help"}


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig):
    from resnet_lab.cli import run_job  # the training stack: not imported for --help

    register()  # in the job's own process too: parallel launchers (joblib, SLURM) start new ones
    return run_job(cfg)


if __name__ == "__main__":
    register()  # the schemas, job directory names and resolvers, before Hydra composes conf/
    if not HELP & set(sys.argv[1:]):
        check_overrides(sys.argv[1:])  # a misspelt key or a wrong-typed value: one sentence, exit 2
    main()
