"""Reads a log directory with the reader `tensorboard --logdir` serves from, and prints its scalars
as JSON: {tag: [[step, value], ...]} in the order TensorBoard keeps them."""
import json
import sys

from tensorboard.backend.event_processing.plugin_event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

accumulator = EventAccumulator(sys.argv[1], size_guidance={"tensors": 0})  # 0: every point
accumulator.Reload()
print(json.dumps({tag: [[e.step, float(tensor_util.make_ndarray(e.tensor_proto))] for e in accumulator.Tensors(tag)]
                  for tag in accumulator.Tags()["tensors"]}))
