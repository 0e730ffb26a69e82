"""A model of a class the notebook defines: pretrained read from the class's ``__init__`` (frameworks/scratch.py)."""

from __future__ import annotations

import ast

import pytest

from audiometrics.analysis.analyser import analyse_cells
from audiometrics.frameworks.scratch import instance_pretrained
from audiometrics.model import LearnerCreated

CLASSES = '''
class Net(nn.Module):
    def __init__(self, n_classes=10):
        super(Net, self).__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Linear(16, n_classes)
        self.loss = nn.CrossEntropyLoss()
        self.fc.weight.data.normal_(0, 0.01)
        nn.init.zeros_(self.fc.bias)
class ResNetLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([self._make_layer(i) for i in range(3)])
        self.apply(self._init)
    def _make_layer(self, i):
        return nn.Sequential(OrderedDict([("conv", nn.Conv2d(i, i, 3)), ("bn", nn.BatchNorm2d(i))]))
class Backbone(nn.Module):
    def __init__(self, weights="IMAGENET1K_V1"):
        super().__init__()
        self.body = models.resnet18(weights=weights)
class Fresh(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = models.resnet18(weights=None)
        self.timm = timm.create_model("resnet18", num_classes=2)
class Hub(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = timm.create_model("resnet18", pretrained=True)
class Loaded(nn.Module):
    def __init__(self, path):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.load_state_dict(torch.load(path))
class Helper(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = make_backbone()
class Flagged(nn.Module):
    def __init__(self, pretrained=True):
        super().__init__()
        self.body = models.resnet18(pretrained=pretrained)
class Tuned(nn.Module):
    def __init__(self, backbone, n=2):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(512, n)
class Child(Hub):
    pass
class KerasNet(keras.Model):
    def __init__(self):
        super().__init__()
        self.d1 = layers.Dense(32, activation="relu")
        self.out = layers.Dense(1)
class Lit(pl.LightningModule):
    def __init__(self, lr=1e-3):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        self.acc = torchmetrics.Accuracy(task="multiclass", num_classes=2)
'''


@pytest.mark.parametrize(
    "built, pretrained",
    [
        ("Net()", False), ("Net(n_classes=3)", False), ("ResNetLike()", False), ("KerasNet()", False), ("Lit(lr=1e-2)", False),
        ("Backbone()", None),  # weights= a parameter: a name, not a literal
        ("Fresh()", False), ("Hub()", True), ("Child()", True), ("Loaded('w.pt')", None), ("Helper()", None),
        ("Flagged()", None), ("Tuned(Net())", False), ("Tuned(Hub())", True),
        ("Tuned(models.resnet50(weights='DEFAULT'))", True), ("Tuned(backbone_from_somewhere())", None),
        ("Unknown()", None),
    ],
)
def test_a_notebook_class_is_pretrained_as_its_init_says(built, pretrained):
    classes = {node.name: node for node in ast.parse(CLASSES).body}
    assert instance_pretrained(ast.parse(built, mode="eval").body, classes) is pretrained


def _learners(*cells: str) -> list[LearnerCreated]:
    return [e for a in analyse_cells(list(cells)) for e in a.events if isinstance(e, LearnerCreated)]


TORCH_CLASSES = CLASSES.split("class KerasNet")[0]  # (a notebook naming Keras or Lightning is not a plain loop's)


def test_runs_of_notebook_classes_get_the_flag_in_every_framework():
    torch_loop = ("import torch\nfrom torch import nn\n" + TORCH_CLASSES, "model = Net()\nopt = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
                  "for epoch in range(2):\n    loss = model(x).sum()\n    loss.backward()\n    opt.step()")
    (opt,) = _learners(*torch_loop)
    assert (opt.model, opt.pretrained) == ("Net", False)
    (learner,) = _learners("from fastai.vision.all import *\n" + CLASSES, "learn = Learner(dls, Hub())\nlearn.fit(1)")
    assert (learner.model, learner.pretrained) == ("Hub", True)
    (loaded,) = _learners("from fastai.vision.all import *\n" + CLASSES, "learn = Learner(dls, Helper())\nlearn.fit(1)")
    assert (loaded.model, loaded.pretrained) == ("Helper", None)
