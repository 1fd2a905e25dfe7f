#!/bin/bash
#SBATCH --array=0-99
#SBATCH --cpus-per-task=8
raftsim sweep scenarios/sweeps/paper-randomness.yaml --trials "${TRIALS:-100000}" \
    --shard auto --out "${PARTS:-/shared/parts/paper-randomness}"
