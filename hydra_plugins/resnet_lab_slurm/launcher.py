"""resnet_lab's SLURM launcher (``hydra/launcher=slurm``); Hydra takes launcher classes from the
``hydra_plugins`` package only. What it does and why: resnet_lab/slurm.py."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from hydra.core.utils import JobReturn, JobStatus

from resnet_lab.slurm import PREEMPT_ENV, REQUEUE_SIGNAL, record_lost_job, run_dir_of

try:  # the `slurm` extra; without it Hydra's plugin scan must not warn on every command
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher as _Submitit
except ImportError:  # pragma: no cover
    _Submitit = None


if _Submitit is not None:
    class SlurmLauncher(_Submitit):
        """hydra-submitit-launcher's SLURM launcher that waits for every job and names the jobs that
        ended without a result instead of raising at the first (see the module's docstring)."""

        poll_s = 2.0

        def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
            import submitit

            from resnet_lab.ddp import PACKAGE_ROOT

            # the jobs import the code this command runs (sbatch passes the environment on)
            os.environ["PYTHONPATH"] = os.pathsep.join(
                filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
            # the pre-emption signal is the one StopOnSignal saves on (SIGUSR1), not submitit's
            # default SIGUSR2: `--signal=USR1@signal_delay_s`, and the jobs' submitit handles USR1
            os.environ[PREEMPT_ENV] = REQUEUE_SIGNAL.name[3:]
            from submitit.slurm.slurm import SlurmJobEnvironment

            SlurmJobEnvironment.USR_SIG = os.environ[PREEMPT_ENV]
            jobs_holder: list = []
            real_map_array = submitit.AutoExecutor.map_array

            def keep(executor, fn, *iterable):  # the jobs, before the parent waits on them in order
                jobs = real_map_array(executor, fn, *iterable)
                jobs_holder.extend(jobs)
                return []

            submitit.AutoExecutor.map_array = keep
            try:
                super().launch(job_overrides, initial_job_idx)
            finally:
                submitit.AutoExecutor.map_array = real_map_array
            jobs = jobs_holder
            while not all(j.done() for j in jobs):  # done() asks sacct; every state ends
                time.sleep(self.poll_s)
            returns = []
            for idx, (job, overrides) in enumerate(zip(jobs, job_overrides, strict=True)):
                try:
                    returns.append(job.results()[0])
                except Exception as e:  # noqa: BLE001 - cancelled, killed, failed without a result
                    state = job.state.split()[0] if job.state else "FAILED"
                    reason = f"SLURM job {job.job_id} ended {state} without a result"
                    first = str(e).strip().splitlines()
                    if first and state not in ("CANCELLED",):
                        reason += f" ({first[-1][:200]})"
                    num = initial_job_idx + idx
                    record_lost_job(run_dir_of(self, overrides, num), state, job.job_id, reason)
                    print(f"job {num + 1}: {reason}", flush=True)
                    ret = JobReturn(overrides=list(overrides), status=JobStatus.COMPLETED)
                    ret.return_value = {"status": state.lower(), "reason": reason}
                    returns.append(ret)
            return returns
