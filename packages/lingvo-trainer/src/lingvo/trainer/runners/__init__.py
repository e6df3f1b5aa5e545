"""The jobs of a run: controller, trainer, evaler and decoder runners."""

from lingvo.trainer.runners.base import BaseRunner
from lingvo.trainer.runners.controller import Controller
from lingvo.trainer.runners.decoder import Decoder
from lingvo.trainer.runners.evaler import Evaler
from lingvo.trainer.runners.trainer import Trainer

__all__ = ["BaseRunner", "Controller", "Decoder", "Evaler", "Trainer"]
