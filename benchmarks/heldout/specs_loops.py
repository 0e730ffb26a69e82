"""PyTorch Lightning and plain-loop notebooks of the held-out corpus.

Spec fields as in ``specs_hf.py``; ``oracle`` is the hidden last cell (executed, then removed)
that hands a plain loop's own lists to the recorder.
"""

PL_SETUP = '''import torch
from torch import nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
import pytorch_lightning as pl
from pytorch_lightning.callbacks import TQDMProgressBar

pl.seed_everything(42)
X = torch.randn(256, 10)
y = (X[:, 0] + X[:, 1] > 0).long()
train_loader = DataLoader(TensorDataset(X[:192], y[:192]), batch_size=32, shuffle=True)
val_loader = DataLoader(TensorDataset(X[192:], y[192:]), batch_size=32)
'''

PL_MODEL = '''class LitClassifier(pl.LightningModule):
    def __init__(self, hidden=32, lr=1e-2):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(10, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.log("val_loss", F.cross_entropy(logits, y), prog_bar=True)
        self.log("val_acc", (logits.argmax(1) == y).float().mean(), prog_bar=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
'''

LIGHTNING = [
    {
        "name": "pl_tutorial_classifier",
        "style": "Lightning tutorials: LightningModule, self.log(prog_bar=True), Trainer(max_epochs), text bar",
        "cells": [
            "%%md\n# Lightning in 15 minutes",
            PL_SETUP, PL_MODEL,
            "model = LitClassifier()\ntrainer = pl.Trainer(max_epochs=3, accelerator='cpu', callbacks=[TQDMProgressBar()])\n"
            "trainer.fit(model, train_loader, val_loader)",
            "trainer.validate(model, val_loader)",
        ],
    },
    {
        "name": "pl_epoch_logged_metrics",
        "style": "Lightning docs: on_step and on_epoch logging (train_loss_step / train_loss_epoch)",
        "cells": [
            PL_SETUP, PL_MODEL,
            "class EpochLogged(LitClassifier):\n"
            "    def training_step(self, batch, batch_idx):\n"
            "        x, y = batch\n"
            "        logits = self(x)\n"
            "        loss = F.cross_entropy(logits, y)\n"
            "        self.log('train_loss', loss, on_step=True, on_epoch=True, prog_bar=True)\n"
            "        self.log('train_acc', (logits.argmax(1) == y).float().mean(), on_epoch=True, on_step=False,\n"
            "                 prog_bar=True)\n"
            "        return loss",
            "trainer = pl.Trainer(max_epochs=4, accelerator='cpu', enable_checkpointing=False,\n"
            "                     callbacks=[TQDMProgressBar(refresh_rate=2)])\n"
            "trainer.fit(EpochLogged(hidden=16, lr=5e-3), train_dataloaders=train_loader, val_dataloaders=val_loader)",
        ],
    },
    {
        "name": "pl_no_validation",
        "style": "Lightning autoencoder tutorial shape: no validation loop, epoch-level train loss",
        "cells": [
            PL_SETUP,
            "class LitAutoEncoder(pl.LightningModule):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.encoder = nn.Sequential(nn.Linear(10, 4), nn.ReLU())\n"
            "        self.decoder = nn.Sequential(nn.Linear(4, 10))\n\n"
            "    def training_step(self, batch, batch_idx):\n"
            "        x, _ = batch\n"
            "        loss = F.mse_loss(self.decoder(self.encoder(x)), x)\n"
            "        self.log('train_loss', loss, on_step=False, on_epoch=True, prog_bar=True)\n"
            "        return loss\n\n"
            "    def configure_optimizers(self):\n"
            "        return torch.optim.Adam(self.parameters(), lr=1e-3)",
            "autoencoder = LitAutoEncoder()\ntrainer = pl.Trainer(max_epochs=4, accelerator='cpu', callbacks=[TQDMProgressBar(refresh_rate=3)])\n"
            "trainer.fit(model=autoencoder, train_dataloaders=train_loader)",
        ],
    },
    {
        "name": "pl_hidden_size_sweep",
        "style": "Lightning sweep notebook: a loop making a model and a Trainer per hidden size",
        "cells": [
            PL_SETUP, PL_MODEL,
            "scores = {}\nfor hidden in [8, 64]:\n"
            "    model = LitClassifier(hidden=hidden, lr=3e-2)\n"
            "    trainer = pl.Trainer(max_epochs=2, accelerator='cpu', logger=False, enable_checkpointing=False,\n"
            "                         callbacks=[TQDMProgressBar()])\n"
            "    trainer.fit(model, train_loader, val_loader)\n"
            "    scores[hidden] = trainer.callback_metrics['val_acc'].item()\nscores",
        ],
    },
]

TORCH_DATA = '''import time
import torch
from torch import nn, optim

torch.manual_seed(1234)
X = torch.randn(320, 12)
y = (X[:, :4].sum(1) > 0).float()
train_X, train_y, valid_X, valid_y = X[:256], y[:256], X[256:], y[256:]


def batches(Xs, ys, size=32):
    for i in range(0, len(ys), size):
        yield Xs[i:i + size], ys[i:i + size]
'''

BENTREVETT_FUNCS = '''def binary_accuracy(preds, y):
    rounded_preds = torch.round(torch.sigmoid(preds))
    correct = (rounded_preds == y).float()
    return correct.sum() / len(correct)


def train(model, iterator, optimizer, criterion):
    epoch_loss, epoch_acc, n = 0, 0, 0
    model.train()
    for xb, yb in iterator:
        optimizer.zero_grad()
        predictions = model(xb).squeeze(1)
        loss = criterion(predictions, yb)
        acc = binary_accuracy(predictions, yb)
        loss.backward()
        optimizer.step()
        epoch_loss += loss.item(); epoch_acc += acc.item(); n += 1
    return epoch_loss / n, epoch_acc / n


def evaluate(model, iterator, criterion):
    epoch_loss, epoch_acc, n = 0, 0, 0
    model.eval()
    with torch.no_grad():
        for xb, yb in iterator:
            predictions = model(xb).squeeze(1)
            epoch_loss += criterion(predictions, yb).item()
            epoch_acc += binary_accuracy(predictions, yb).item(); n += 1
    return epoch_loss / n, epoch_acc / n


def epoch_time(start_time, end_time):
    elapsed_time = end_time - start_time
    elapsed_mins = int(elapsed_time / 60)
    elapsed_secs = int(elapsed_time - (elapsed_mins * 60))
    return elapsed_mins, elapsed_secs
'''

BENTREVETT_LOOP = '''N_EPOCHS = {epochs}
best_valid_loss = float('inf')
train_losses, train_accs, valid_losses, valid_accs = [], [], [], []

for epoch in range(N_EPOCHS):
    start_time = time.time()
    train_loss, train_acc = train(model, batches(train_X, train_y), optimizer, criterion)
    valid_loss, valid_acc = evaluate(model, batches(valid_X, valid_y), criterion)
    end_time = time.time()
    epoch_mins, epoch_secs = epoch_time(start_time, end_time)
    train_losses.append(train_loss); train_accs.append(train_acc)
    valid_losses.append(valid_loss); valid_accs.append(valid_acc)
    if valid_loss < best_valid_loss:
        best_valid_loss = valid_loss
        torch.save(model.state_dict(), 'tut-model.pt')

    print(f'Epoch: {{epoch+1:02}} | Epoch Time: {{epoch_mins}}m {{epoch_secs}}s')
    print(f'\\tTrain Loss: {{train_loss:.3f}} | Train Acc: {{train_acc*100:.2f}}%')
    print(f'\\t Val. Loss: {{valid_loss:.3f}} |  Val. Acc: {{valid_acc*100:.2f}}%')
'''

BENTREVETT_TEST = '''model.load_state_dict(torch.load('tut-model.pt'))
test_loss, test_acc = evaluate(model, batches(valid_X, valid_y), criterion)
print(f'Test Loss: {test_loss:.3f} | Test Acc: {test_acc*100:.2f}%')'''

BENTREVETT_ORACLE = (
    "_heldout_plain_run({model!r}, optimizer.param_groups[0]['lr'], N_EPOCHS,\n"
    "    {{'train_loss': train_losses, 'train_acc': train_accs, 'val_loss': valid_losses, 'val_acc': valid_accs}},\n"
    "    style='bentrevett')"
)

RASBT = '''import torch
from torch import nn

torch.manual_seed(123)
VOCAB, CTX = 50, 8
tokens = torch.randint(0, VOCAB, (40, CTX + 1))
train_loader = [(tokens[i:i + 4, :-1], tokens[i:i + 4, 1:]) for i in range(0, 32, 4)]
val_loader = [(tokens[i:i + 4, :-1], tokens[i:i + 4, 1:]) for i in range(32, 40, 4)]


class TinyGPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok_emb = nn.Embedding(VOCAB, 16)
        self.out_head = nn.Linear(16, VOCAB)

    def forward(self, idx):
        return self.out_head(self.tok_emb(idx))


def calc_loss_batch(input_batch, target_batch, model):
    logits = model(input_batch)
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), target_batch.flatten())


def calc_loss_loader(data_loader, model, num_batches=None):
    losses = [calc_loss_batch(i, t, model).item() for i, t in data_loader[:num_batches]]
    return sum(losses) / len(losses)


def evaluate_model(model, train_loader, val_loader, eval_iter):
    model.eval()
    with torch.no_grad():
        train_loss = calc_loss_loader(train_loader, model, num_batches=eval_iter)
        val_loss = calc_loss_loader(val_loader, model, num_batches=eval_iter)
    model.train()
    return train_loss, val_loss


def generate_and_print_sample(model, start_context):
    with torch.no_grad():
        ids = model(start_context).argmax(-1)
    print(" ".join(f"<{int(i)}>" for i in ids[0]))
'''

RASBT_TRAIN = '''def train_model_simple(model, train_loader, val_loader, optimizer, num_epochs,
                       eval_freq, eval_iter, start_context):
    train_losses, val_losses, track_tokens_seen = [], [], []
    tokens_seen, global_step = 0, -1

    for epoch in range(num_epochs):
        model.train()
        for input_batch, target_batch in train_loader:
            optimizer.zero_grad()
            loss = calc_loss_batch(input_batch, target_batch, model)
            loss.backward()
            optimizer.step()
            tokens_seen += input_batch.numel()
            global_step += 1

            if global_step % eval_freq == 0:
                train_loss, val_loss = evaluate_model(model, train_loader, val_loader, eval_iter)
                train_losses.append(train_loss)
                val_losses.append(val_loss)
                track_tokens_seen.append(tokens_seen)
                print(f"Ep {epoch+1} (Step {global_step:06d}): "
                      f"Train loss {train_loss:.3f}, Val loss {val_loss:.3f}")

        generate_and_print_sample(model, start_context)

    return train_losses, val_losses, track_tokens_seen
'''

RASBT_ORACLE = '''_steps = [s for s in range(num_epochs * len(train_loader)) if s % 5 == 0]
_heldout_plain_run("TinyGPT", optimizer.param_groups[0]["lr"], num_epochs,
                   {"train_loss": train_losses, "val_loss": val_losses}, key="step", steps=_steps,
                   epochs=[s // len(train_loader) for s in _steps], style="rasbt")'''

PLAIN = [
    {
        "name": "bentrevett_sentiment_rnn",
        "style": "bentrevett/pytorch-sentiment-analysis (Epoch: 01 | Epoch Time, Train/Val. Loss and Acc %)",
        "cells": [
            "%%md\n# 1 - Simple Sentiment Analysis", TORCH_DATA, BENTREVETT_FUNCS,
            "class RNN(nn.Module):\n    def __init__(self, input_dim, hidden_dim, output_dim):\n"
            "        super().__init__()\n        self.fc1 = nn.Linear(input_dim, hidden_dim)\n"
            "        self.fc = nn.Linear(hidden_dim, output_dim)\n\n    def forward(self, x):\n"
            "        return self.fc(torch.tanh(self.fc1(x)))\n\nmodel = RNN(12, 16, 1)\n"
            "optimizer = optim.SGD(model.parameters(), lr=1e-1)\ncriterion = nn.BCEWithLogitsLoss()",
            BENTREVETT_LOOP.format(epochs=5), BENTREVETT_TEST,
        ],
        "oracle": BENTREVETT_ORACLE.format(model="RNN"),
    },
    {
        "name": "bentrevett_fasttext_then_cnn",
        "style": "bentrevett/pytorch-sentiment-analysis: two models trained in one notebook, default Adam rate",
        "cells": [
            TORCH_DATA, BENTREVETT_FUNCS,
            "class FastText(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(12, 1)\n\n    def forward(self, x):\n        return self.fc(x)\n\n"
            "model = FastText()\noptimizer = optim.Adam(model.parameters())\ncriterion = nn.BCEWithLogitsLoss()",
            BENTREVETT_LOOP.format(epochs=3),
            "%%md\n## CNN",
            "class CNN(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.conv = nn.Conv1d(1, 4, 3)\n        self.fc = nn.Linear(40, 1)\n\n"
            "    def forward(self, x):\n        return self.fc(torch.relu(self.conv(x.unsqueeze(1))).flatten(1))\n\n"
            "model = CNN()\noptimizer = optim.Adam(model.parameters(), lr=5e-3)",
            BENTREVETT_LOOP.format(epochs=4), BENTREVETT_TEST,
        ],
        "oracle": None,  # set below: the first run's lists are read from the notebook's history
    },
    {
        "name": "rasbt_llm_pretraining",
        "style": "rasbt/LLMs-from-scratch ch05 (Ep 1 (Step 000005): Train loss …, Val loss …, sample text)",
        "cells": [
            "%%md\n# Chapter 5: Pretraining on Unlabeled Data", RASBT, RASBT_TRAIN,
            "model = TinyGPT()\noptimizer = torch.optim.AdamW(model.parameters(), lr=0.0004, weight_decay=0.1)\n"
            "num_epochs = 3\ntrain_losses, val_losses, tokens_seen = train_model_simple(\n"
            "    model, train_loader, val_loader, optimizer, num_epochs=num_epochs,\n"
            "    eval_freq=5, eval_iter=2, start_context=tokens[:1, :CTX])",
        ],
        "oracle": RASBT_ORACLE,
    },
    {
        "name": "d2l_linear_regression",
        "style": "d2l.ai linear regression from scratch (epoch 1, loss 0.034513)",
        "cells": [
            "%%md\n## 3.2 Linear Regression Implementation from Scratch",
            "import torch\n\ntorch.manual_seed(0)\ntrue_w, true_b = torch.tensor([2, -3.4]), 4.2\n"
            "features = torch.normal(0, 1, (200, 2))\nlabels = features @ true_w + true_b + torch.normal(0, 0.01, (200,))\n"
            "w = torch.normal(0, 0.01, size=(2,), requires_grad=True)\nb = torch.zeros(1, requires_grad=True)",
            "def linreg(X, w, b):\n    return X @ w + b\n\ndef squared_loss(y_hat, y):\n    return (y_hat - y) ** 2 / 2\n\n"
            "def sgd(params, lr, batch_size):\n    with torch.no_grad():\n        for param in params:\n"
            "            param -= lr * param.grad / batch_size\n            param.grad.zero_()",
            "lr = 0.03\nnum_epochs = 3\nnet = linreg\nloss = squared_loss\nbatch_size = 10\nepoch_losses = []\n\n"
            "for epoch in range(num_epochs):\n    for i in range(0, 200, batch_size):\n"
            "        X, y = features[i:i + batch_size], labels[i:i + batch_size]\n"
            "        l = loss(net(X, w, b), y)\n        l.sum().backward()\n        sgd([w, b], lr, batch_size)\n"
            "    with torch.no_grad():\n        train_l = loss(net(features, w, b), labels)\n"
            "        epoch_losses.append(float(train_l.mean()))\n"
            "        print(f'epoch {epoch + 1}, loss {float(train_l.mean()):f}')",
        ],
        "oracle": "_heldout_plain_run('linreg', lr, num_epochs, {'train_loss': epoch_losses}, style='d2l')",
    },
    {
        "name": "plain_epoch_colon_lines",
        "style": "course notebook loop printing 'epoch: 0' then 'train_loss: …, train_acc: …' (0-based epochs)",
        "cells": [
            TORCH_DATA,
            "model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 1))\n"
            "opt = optim.Adam(model.parameters(), lr=0.01)\nloss_fn = nn.BCEWithLogitsLoss()\n"
            "history = {'train_loss': [], 'train_acc': [], 'val_loss': [], 'val_acc': []}",
            "def run_epoch(Xs, ys, train):\n    model.train(train)\n    with torch.set_grad_enabled(train):\n"
            "        out = model(Xs).squeeze(1)\n        loss = loss_fn(out, ys)\n        if train:\n"
            "            opt.zero_grad(); loss.backward(); opt.step()\n"
            "    return loss.item(), ((out > 0).float() == ys).float().mean().item()\n\n"
            "for epoch in range(6):\n    train_loss, train_acc = run_epoch(train_X, train_y, True)\n"
            "    val_loss, val_acc = run_epoch(valid_X, valid_y, False)\n"
            "    for k, v in zip(history, (train_loss, train_acc, val_loss, val_acc)):\n        history[k].append(v)\n"
            "    print(f'epoch: {epoch}')\n    print(f'train_loss: {train_loss:.3f}, train_acc: {train_acc:.3f}')\n"
            "    print(f'val_loss: {val_loss:.3f}, val_acc: {val_acc:.3f}')",
        ],
        "oracle": "_heldout_plain_run('Sequential', opt.param_groups[0]['lr'], 6, history, style='epoch colon',\n"
                  "                   display_base=0)",
    },
    {
        "name": "plain_bracket_lr_loop",
        "style": "Kaggle-style loop 'Epoch [1/5], Loss: …, Val Loss: …, Val Acc: …' over two learning rates",
        "cells": [
            TORCH_DATA,
            "num_epochs = 5\nall_runs = []\nfor lr in [0.1, 0.01]:\n    print(f'--- lr = {lr} ---')\n"
            "    model = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 1))\n"
            "    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9)\n"
            "    criterion = nn.BCEWithLogitsLoss()\n    run = {'lr': lr, 'train_loss': [], 'val_loss': [], 'val_acc': []}\n"
            "    for epoch in range(num_epochs):\n        for xb, yb in batches(train_X, train_y):\n"
            "            optimizer.zero_grad()\n            loss = criterion(model(xb).squeeze(1), yb)\n"
            "            loss.backward()\n            optimizer.step()\n        with torch.no_grad():\n"
            "            out = model(valid_X).squeeze(1)\n            val_loss = criterion(out, valid_y).item()\n"
            "            val_acc = ((out > 0).float() == valid_y).float().mean().item()\n"
            "        run['train_loss'].append(loss.item()); run['val_loss'].append(val_loss); run['val_acc'].append(val_acc)\n"
            "        print('Epoch [{}/{}], Loss: {:.4f}, Val Loss: {:.4f}, Val Acc: {:.4f}'\n"
            "              .format(epoch + 1, num_epochs, loss.item(), val_loss, val_acc))\n    all_runs.append(run)",
        ],
        "oracle": "for _run in all_runs:\n"
                  "    _heldout_plain_run('Sequential', _run['lr'], num_epochs,\n"
                  "        {k: _run[k] for k in ('train_loss', 'val_loss', 'val_acc')}, style='bracket')",
    },
]

PLAIN.append({
    "name": "plain_out_of_order",
    "style": "a user's notebook run out of order: the second training cell ran before the first (counts tell)",
    "cells": [
        TORCH_DATA,
        "runs_log = []\n\n\ndef fit(lr, epochs):\n"
        "    model = nn.Sequential(nn.Linear(12, 8), nn.Tanh(), nn.Linear(8, 1))\n"
        "    optimizer = optim.Adam(model.parameters(), lr=lr)\n    criterion = nn.BCEWithLogitsLoss()\n"
        "    log = {'lr': lr, 'epochs': epochs, 'train_loss': [], 'val_loss': []}\n"
        "    for epoch in range(epochs):\n        for xb, yb in batches(train_X, train_y):\n"
        "            optimizer.zero_grad()\n            loss = criterion(model(xb).squeeze(1), yb)\n"
        "            loss.backward()\n            optimizer.step()\n        with torch.no_grad():\n"
        "            train_loss = criterion(model(train_X).squeeze(1), train_y).item()\n"
        "            val_loss = criterion(model(valid_X).squeeze(1), valid_y).item()\n"
        "        log['train_loss'].append(train_loss); log['val_loss'].append(val_loss)\n"
        "        print(f'epoch {epoch + 1}/{epochs}  train_loss={train_loss:.4f}  val_loss={val_loss:.4f}')\n"
        "    runs_log.append(log)\n    return model",
        "%%md\n## Baseline",
        "baseline = fit(lr=0.001, epochs=3)",
        "%%md\n## Higher learning rate",
        "fast = fit(lr=0.01, epochs=4)",
    ],
    "order": [0, 1, 2, 5, 4, 3],
    "oracle": "for _log in runs_log:\n"
              "    _heldout_plain_run('Sequential', _log['lr'], _log['epochs'],\n"
              "                       {'train_loss': _log['train_loss'], 'val_loss': _log['val_loss']}, style='out of order')",
})

# Second batch (benchmarks/heldout/README.md, "The corpus"): styles the first batch did not cover, written
# and executed by a second person with the same machinery; see the README for the post-processing keys.
LIGHTNING += [
    {
        "name": "pl_scheduler_dict",
        "style": "Lightning docs: configure_optimizers returning a dict with a monitored ReduceLROnPlateau, "
                 "self.learning_rate, self.log_dict",
        "cells": [
            PL_SETUP,
            "class LitModel(pl.LightningModule):\n"
            "    def __init__(self, learning_rate=1e-3):\n"
            "        super().__init__()\n"
            "        self.learning_rate = learning_rate\n"
            "        self.net = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))\n\n"
            "    def forward(self, x):\n        return self.net(x)\n\n"
            "    def training_step(self, batch, batch_idx):\n"
            "        x, y = batch\n"
            "        loss = F.cross_entropy(self(x), y)\n"
            "        self.log('train_loss', loss, prog_bar=True)\n"
            "        return loss\n\n"
            "    def validation_step(self, batch, batch_idx):\n"
            "        x, y = batch\n"
            "        logits = self(x)\n"
            "        self.log_dict({'val_loss': F.cross_entropy(logits, y),\n"
            "                       'val_acc': (logits.argmax(1) == y).float().mean()}, prog_bar=True)\n\n"
            "    def configure_optimizers(self):\n"
            "        optimizer = torch.optim.SGD(self.parameters(), lr=self.learning_rate, momentum=0.9)\n"
            "        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode='min', factor=0.5,\n"
            "                                                               patience=1)\n"
            "        return {'optimizer': optimizer,\n"
            "                'lr_scheduler': {'scheduler': scheduler, 'monitor': 'val_loss'}}",
            "LR = 0.05\nEPOCHS = 4",
            "model = LitModel(learning_rate=LR)\n"
            "trainer = pl.Trainer(max_epochs=EPOCHS, accelerator='cpu', callbacks=[TQDMProgressBar()],\n"
            "                     enable_checkpointing=False, logger=False)\n"
            "trainer.fit(model, train_loader, val_loader)",
        ],
    },
    {
        "name": "pl_datamodule_hparams",
        "style": "Lightning tutorials: a LightningDataModule, save_hyperparameters() and self.hparams.learning_rate "
                 "(the default), trainer.test afterwards",
        "cells": [
            PL_SETUP,
            "class ToyDataModule(pl.LightningDataModule):\n"
            "    def __init__(self, batch_size=32):\n"
            "        super().__init__()\n"
            "        self.batch_size = batch_size\n\n"
            "    def setup(self, stage=None):\n"
            "        self.train_ds = TensorDataset(X[:160], y[:160])\n"
            "        self.val_ds = TensorDataset(X[160:208], y[160:208])\n"
            "        self.test_ds = TensorDataset(X[208:], y[208:])\n\n"
            "    def train_dataloader(self):\n"
            "        return DataLoader(self.train_ds, batch_size=self.batch_size, shuffle=True)\n\n"
            "    def val_dataloader(self):\n"
            "        return DataLoader(self.val_ds, batch_size=self.batch_size)\n\n"
            "    def test_dataloader(self):\n"
            "        return DataLoader(self.test_ds, batch_size=self.batch_size)",
            "class LitMLP(pl.LightningModule):\n"
            "    def __init__(self, hidden_dim=32, learning_rate=2e-3, weight_decay=1e-4):\n"
            "        super().__init__()\n"
            "        self.save_hyperparameters()\n"
            "        self.net = nn.Sequential(nn.Linear(10, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, 2))\n\n"
            "    def forward(self, x):\n        return self.net(x)\n\n"
            "    def _shared(self, batch):\n"
            "        x, y = batch\n"
            "        logits = self(x)\n"
            "        return F.cross_entropy(logits, y), (logits.argmax(1) == y).float().mean()\n\n"
            "    def training_step(self, batch, batch_idx):\n"
            "        loss, acc = self._shared(batch)\n"
            "        self.log('train_loss', loss, on_step=False, on_epoch=True, prog_bar=True)\n"
            "        return loss\n\n"
            "    def validation_step(self, batch, batch_idx):\n"
            "        loss, acc = self._shared(batch)\n"
            "        self.log('val_loss', loss, prog_bar=True)\n"
            "        self.log('val_acc', acc, prog_bar=True)\n\n"
            "    def test_step(self, batch, batch_idx):\n"
            "        loss, acc = self._shared(batch)\n"
            "        self.log('test_loss', loss)\n"
            "        self.log('test_acc', acc)\n\n"
            "    def configure_optimizers(self):\n"
            "        return torch.optim.AdamW(self.parameters(), lr=self.hparams.learning_rate,\n"
            "                                 weight_decay=self.hparams.weight_decay)",
            "dm = ToyDataModule()\nmodel = LitMLP(hidden_dim=16)\n"
            "trainer = pl.Trainer(max_epochs=3, accelerator='cpu', callbacks=[TQDMProgressBar()], logger=False,\n"
            "                     enable_checkpointing=False)\n"
            "trainer.fit(model, datamodule=dm)",
            "trainer.test(model, datamodule=dm)",
        ],
    },
]

NET = '''class Net(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.fc1 = nn.Linear(12, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
'''

PLAIN += [
    {
        "name": "plain_train_fn_twice",
        "style": "course notebooks: a train(model, lr, epochs) function printing 'Epoch [1/3], Loss: …', "
                 "called in two cells with different rates",
        "cells": [
            TORCH_DATA, NET,
            "def train(model, lr, epochs):\n"
            "    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n"
            "    criterion = nn.BCEWithLogitsLoss()\n"
            "    history = []\n"
            "    for epoch in range(epochs):\n"
            "        model.train()\n"
            "        for xb, yb in batches(train_X, train_y):\n"
            "            optimizer.zero_grad()\n"
            "            loss = criterion(model(xb).squeeze(1), yb)\n"
            "            loss.backward()\n"
            "            optimizer.step()\n"
            "        history.append(loss.item())\n"
            "        print(f'Epoch [{epoch + 1}/{epochs}], Loss: {loss.item():.4f}')\n"
            "    return history",
            "%%md\n## Small learning rate",
            "hist_small = train(Net(), lr=1e-3, epochs=3)",
            "%%md\n## Larger learning rate",
            "hist_big = train(Net(), lr=1e-2, epochs=4)",
        ],
        "oracle": "_heldout_plain_run('Net', 1e-3, 3, {'train_loss': hist_small}, style='bracket fn')\n"
                  "_heldout_plain_run('Net', 1e-2, 4, {'train_loss': hist_big}, style='bracket fn')",
    },
    {
        "name": "plain_tqdm_fstring",
        "style": "Kaggle loops: a tqdm bar per epoch (stderr), then print(f'epoch {e} train_loss {l:.4f} val_loss "
                 "{v:.4f}') 0-based; LR and N_EPOCHS in an earlier cell",
        "cells": [
            TORCH_DATA, NET,
            "LR = 0.05\nN_EPOCHS = 4",
            "from tqdm import tqdm\n\n"
            "model = Net(32)\n"
            "optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)\n"
            "criterion = nn.BCEWithLogitsLoss()\n"
            "train_losses, val_losses = [], []\n"
            "for e in range(N_EPOCHS):\n"
            "    model.train()\n"
            "    total, n = 0.0, 0\n"
            "    for xb, yb in tqdm(list(batches(train_X, train_y)), desc=f'epoch {e}'):\n"
            "        optimizer.zero_grad()\n"
            "        loss = criterion(model(xb).squeeze(1), yb)\n"
            "        loss.backward()\n"
            "        optimizer.step()\n"
            "        total += loss.item() * len(yb); n += len(yb)\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        v = criterion(model(valid_X).squeeze(1), valid_y).item()\n"
            "    l = total / n\n"
            "    train_losses.append(l); val_losses.append(v)\n"
            "    print(f'epoch {e} train_loss {l:.4f} val_loss {v:.4f}')",
        ],
        "oracle": "_heldout_plain_run('Net', LR, N_EPOCHS, {'train_loss': train_losses, 'val_loss': val_losses},\n"
                  "                   style='tqdm + fstring', display_base=0)",
    },
    {
        "name": "plain_cleared_output",
        "style": "a user's notebook: the first training cell's output cleared (too long), a second model trained "
                 "after it",
        "cells": [
            TORCH_DATA, NET,
            "model = Net()\n"
            "optimizer = optim.Adam(model.parameters(), lr=1e-3)\n"
            "criterion = nn.BCEWithLogitsLoss()\n"
            "for epoch in range(3):\n"
            "    for xb, yb in batches(train_X, train_y):\n"
            "        optimizer.zero_grad(); loss = criterion(model(xb).squeeze(1), yb); loss.backward(); optimizer.step()\n"
            "    with torch.no_grad():\n"
            "        val_loss = criterion(model(valid_X).squeeze(1), valid_y).item()\n"
            "    print(f'Epoch {epoch + 1}/3 - train_loss: {loss.item():.4f} - val_loss: {val_loss:.4f}')",
            "%%md\n(output cleared) Retrain a wider net with SGD:",
            "model2 = Net(64)\n"
            "optimizer2 = optim.SGD(model2.parameters(), lr=0.1)\n"
            "log2 = {'train_loss': [], 'val_loss': []}\n"
            "for epoch in range(4):\n"
            "    for xb, yb in batches(train_X, train_y):\n"
            "        optimizer2.zero_grad(); loss = criterion(model2(xb).squeeze(1), yb); loss.backward(); optimizer2.step()\n"
            "    with torch.no_grad():\n"
            "        val_loss = criterion(model2(valid_X).squeeze(1), valid_y).item()\n"
            "    log2['train_loss'].append(loss.item()); log2['val_loss'].append(val_loss)\n"
            "    print(f'Epoch {epoch + 1}/4 - train_loss: {loss.item():.4f} - val_loss: {val_loss:.4f}')",
        ],
        "clear": [2],
        "oracle": "_heldout_plain_run('Net', optimizer2.param_groups[0]['lr'], 4, log2, style='dash pairs')",
    },
    {
        "name": "plain_models_loop",
        "style": "model comparison loop: for name, model, lr in [(..., MLP(), 1e-2), (..., Wide(), 1e-3)] in one cell",
        "cells": [
            TORCH_DATA,
            "class MLP(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.net = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 1))\n\n"
            "    def forward(self, x):\n        return self.net(x)\n\n\n"
            "class Wide(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.net = nn.Sequential(nn.Linear(12, 128), nn.ReLU(), nn.Linear(128, 1))\n\n"
            "    def forward(self, x):\n        return self.net(x)",
            "criterion = nn.BCEWithLogitsLoss()\n"
            "logs = {}\n"
            "for name, model, lr in [('mlp', MLP(), 1e-2), ('wide', Wide(), 1e-3)]:\n"
            "    optimizer = optim.Adam(model.parameters(), lr=lr)\n"
            "    logs[name] = {'lr': lr, 'train_loss': [], 'val_loss': []}\n"
            "    print(f'== {name} ==')\n"
            "    for epoch in range(3):\n"
            "        for xb, yb in batches(train_X, train_y):\n"
            "            optimizer.zero_grad(); loss = criterion(model(xb).squeeze(1), yb); loss.backward(); optimizer.step()\n"
            "        with torch.no_grad():\n"
            "            l = criterion(model(train_X).squeeze(1), train_y).item()\n"
            "            v = criterion(model(valid_X).squeeze(1), valid_y).item()\n"
            "        logs[name]['train_loss'].append(l); logs[name]['val_loss'].append(v)\n"
            "        print(f'Epoch {epoch + 1}/3 | train_loss: {l:.4f} | val_loss: {v:.4f}')",
        ],
        "oracle": "for _name, _cls in (('mlp', 'MLP'), ('wide', 'Wide')):\n"
                  "    _log = logs[_name]\n"
                  "    _heldout_plain_run(_cls, _log['lr'], 3, {'train_loss': _log['train_loss'], 'val_loss': _log['val_loss']},\n"
                  "                       style='models loop')",
    },
]

NEGATIVE = [{
    "name": "negative_evaluate_only",
    "style": "no training (a negative): a model card check, Keras evaluate()/predict(), HF Trainer.evaluate() "
             "only, a learning-rate schedule preview printed per epoch",
    "kernel": "ml", "hooks": "hf,keras",
    "cells": [
        "%%md\n# Checking the released models\nNo training here: evaluation only.",
        'import os\nos.environ["KERAS_BACKEND"] = "torch"\nimport numpy as np\nimport keras\n\n'
        'rng = np.random.default_rng(7)\nx = rng.normal(size=(64, 6)).astype("float32")\n'
        'y = (x[:, 0] > 0).astype("int64")\n'
        'model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2, activation="softmax")])\n'
        'model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n'
        'model.evaluate(x, y)',
        "probs = model.predict(x[:8])\nprobs.round(3)",
        "import torch\nfrom transformers import BertConfig, AutoModelForSequenceClassification, Trainer, "
        "TrainingArguments\n\n"
        "class Eval(torch.utils.data.Dataset):\n    def __len__(self):\n        return 16\n\n"
        "    def __getitem__(self, i):\n        ids = torch.arange(i, i + 8) % 50\n"
        "        return {'input_ids': ids, 'attention_mask': torch.ones(8, dtype=torch.long), 'labels': torch.tensor(i % 2)}\n\n"
        "config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,\n"
        "                    intermediate_size=32, max_position_embeddings=16, num_labels=2)\n"
        "trainer = Trainer(model=AutoModelForSequenceClassification.from_config(config),\n"
        "                  args=TrainingArguments('eval-only', report_to='none'), eval_dataset=Eval())\n"
        "trainer.evaluate()",
        "%%md\nThe schedule the next fine-tuning will use:",
        "base_lr, warmup = 1e-3, 2\nfor epoch in range(6):\n"
        "    lr = base_lr * min(1.0, (epoch + 1) / warmup) * 0.5 ** max(0, epoch - warmup)\n"
        "    print(f'epoch {epoch + 1}: lr {lr:.6f}')",
    ],
}]

# The two-model notebook keeps the first model's lists before the second loop overwrites them.
_two = PLAIN[1]
_two["cells"][3] += ("\nfasttext_history = dict(lr=optimizer.param_groups[0]['lr'], epochs=N_EPOCHS,\n"
                     "    train_loss=train_losses, train_acc=train_accs, val_loss=valid_losses, val_acc=valid_accs)")
_two["oracle"] = (
    "_h = dict(fasttext_history)\n"
    "_heldout_plain_run('FastText', _h.pop('lr'), _h.pop('epochs'), _h, style='bentrevett')\n"
    + BENTREVETT_ORACLE.format(model="CNN")
)

# Third batch (README.md, "The corpus"): 15 notebooks written and executed by a third person with the same
# machinery (plain loops and Lightning).
_TOY_LOADERS = '''torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
X = torch.randn(384, 12)
y = (X[:, :4].sum(1) > 0).long()
train_ds = TensorDataset(X[:288], y[:288])
val_ds = TensorDataset(X[288:], y[288:])
train_loader = DataLoader(train_ds, batch_size=32, shuffle=True)
val_loader = DataLoader(val_ds, batch_size=64)
print(f"train: {len(train_ds)}  val: {len(val_ds)}")
'''
"""The toy data and loaders of the third and fourth batches' plain loops (their imports differ)."""
_TOY_IMPORTS = "import numpy as np\n{more}import torch\nfrom torch import nn, optim\nfrom torch.utils.data import DataLoader, TensorDataset\n{tqdm}\n"
LOADERS_EVAL = _TOY_IMPORTS.format(more="import pandas as pd\n", tqdm="from tqdm import tqdm\n") + _TOY_LOADERS


NET_EVAL = '''class Net(nn.Module):
    def __init__(self, hidden=32, n_classes=2):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(12, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))

    def forward(self, x):
        return self.layers(x)


def evaluate(model, loader, criterion):
    model.eval()
    total, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            out = model(xb)
            total += criterion(out, yb).item() * len(yb)
            correct += (out.argmax(1) == yb).sum().item()
            n += len(yb)
    return total / n, correct / n
'''


PLAIN += [
    {
        "name": "plain_tqdm_postfix_onecycle",
        "style": "Kaggle: tqdm(train_loader, desc=f'Epoch {epoch+1}/{EPOCHS}') with set_postfix(loss=...), "
                 "OneCycleLR stepped per batch, a summary print per epoch",
        "cells": [
            LOADERS_EVAL, NET_EVAL,
            "EPOCHS = 4\n"
            "model = Net().to(device)\n"
            "criterion = nn.CrossEntropyLoss()\n"
            "optimizer = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)\n"
            "scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, steps_per_epoch=len(train_loader),\n"
            "                                          epochs=EPOCHS)",
            "history = {'train_loss': [], 'val_loss': [], 'val_acc': []}\n"
            "for epoch in range(EPOCHS):\n"
            "    model.train()\n"
            "    running = 0.0\n"
            "    pbar = tqdm(train_loader, desc=f\"Epoch {epoch+1}/{EPOCHS}\")\n"
            "    for xb, yb in pbar:\n"
            "        xb, yb = xb.to(device), yb.to(device)\n"
            "        optimizer.zero_grad()\n"
            "        loss = criterion(model(xb), yb)\n"
            "        loss.backward()\n"
            "        optimizer.step()\n"
            "        scheduler.step()\n"
            "        running += loss.item() * xb.size(0)\n"
            "        pbar.set_postfix(loss=loss.item())\n"
            "    train_loss = running / len(train_loader.dataset)\n"
            "    val_loss, val_acc = evaluate(model, val_loader, criterion)\n"
            "    history['train_loss'].append(train_loss); history['val_loss'].append(val_loss)\n"
            "    history['val_acc'].append(val_acc)\n"
            "    print(f\"Epoch {epoch+1}/{EPOCHS} - train_loss: {train_loss:.4f} - val_loss: {val_loss:.4f} \"\n"
            "          f\"- val_acc: {val_acc:.4f}\")",
        ],
        # the rate the run starts from: OneCycleLR replaces AdamW's lr=3e-3 by max_lr / div_factor (4e-4)
        "oracle": "_heldout_plain_run('Net', optimizer.param_groups[0]['initial_lr'], EPOCHS, history,\n"
                  "                   style='tqdm postfix + summary')",
    },
    {
        "name": "plain_pipe_table_steplr",
        "style": "blog/Kaggle loops printing a header line then '  1 | 0.6931 | 0.6899 | 53.12%' rows; StepLR per epoch",
        "cells": [
            LOADERS_EVAL, NET_EVAL,
            "NUM_EPOCHS = 5\n"
            "model = Net(hidden=64).to(device)\n"
            "criterion = nn.CrossEntropyLoss()\n"
            "optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n"
            "scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)",
            "log = {'train_loss': [], 'val_loss': [], 'val_acc': []}\n"
            "print(f\"{'Epoch':>5} | {'Train Loss':>10} | {'Val Loss':>8} | {'Val Acc':>7} | {'LR':>8}\")\n"
            "print('-' * 52)\n"
            "for epoch in range(1, NUM_EPOCHS + 1):\n"
            "    model.train()\n"
            "    total, n = 0.0, 0\n"
            "    for xb, yb in train_loader:\n"
            "        optimizer.zero_grad()\n"
            "        loss = criterion(model(xb), yb)\n"
            "        loss.backward()\n"
            "        optimizer.step()\n"
            "        total += loss.item() * len(yb); n += len(yb)\n"
            "    lr = scheduler.get_last_lr()[0]\n"
            "    scheduler.step()\n"
            "    train_loss = total / n\n"
            "    val_loss, val_acc = evaluate(model, val_loader, criterion)\n"
            "    log['train_loss'].append(train_loss); log['val_loss'].append(val_loss); log['val_acc'].append(val_acc)\n"
            "    print(f\"{epoch:5d} | {train_loss:10.4f} | {val_loss:8.4f} | {val_acc:7.2%} | {lr:.2e}\")",
        ],
        "oracle": "_heldout_plain_run('Net', 0.1, NUM_EPOCHS, log, style='pipe table')",
    },
    {
        "name": "plain_cfg_getattr_optim",
        "style": "Kaggle: CFG dict of hyper-parameters, optimizer from getattr(torch.optim, CFG['optimizer']), "
                 "'Epoch 1: train_loss=…, val_loss=…' lines",
        "cells": [
            LOADERS_EVAL, NET_EVAL,
            "CFG = {\n"
            "    'hidden': 64,\n"
            "    'optimizer': 'AdamW',\n"
            "    'lr': 3e-4,\n"
            "    'weight_decay': 1e-2,\n"
            "    'epochs': 3,\n"
            "}",
            "model = Net(hidden=CFG['hidden']).to(device)\n"
            "criterion = nn.CrossEntropyLoss()\n"
            "optimizer = getattr(torch.optim, CFG['optimizer'])(model.parameters(), lr=CFG['lr'],\n"
            "                                                   weight_decay=CFG['weight_decay'])\n"
            "train_losses, val_losses, val_accs = [], [], []\n"
            "for epoch in range(CFG['epochs']):\n"
            "    model.train()\n"
            "    for xb, yb in train_loader:\n"
            "        optimizer.zero_grad()\n"
            "        loss = criterion(model(xb), yb)\n"
            "        loss.backward()\n"
            "        optimizer.step()\n"
            "    train_loss, _ = evaluate(model, train_loader, criterion)\n"
            "    val_loss, val_acc = evaluate(model, val_loader, criterion)\n"
            "    train_losses.append(train_loss); val_losses.append(val_loss); val_accs.append(val_acc)\n"
            "    print(f'Epoch {epoch+1}: train_loss={train_loss:.4f}, val_loss={val_loss:.4f}, val_acc={val_acc:.4f}')",
        ],
        "oracle": "_heldout_plain_run('Net', optimizer.param_groups[0]['lr'], CFG['epochs'],\n"
                  "    {'train_loss': train_losses, 'val_loss': val_losses, 'val_acc': val_accs}, style='cfg getattr')",
    },
    {
        "name": "plain_optimizer_helper_recreate",
        "style": "course notebooks: optimizer built by a helper make_optimizer(model, lr=1e-3); the same `model` "
                 "variable re-created with Net() and retrained in a later cell (helper default rate)",
        "cells": [
            LOADERS_EVAL, NET_EVAL,
            "def make_optimizer(model, lr=1e-3):\n"
            "    return optim.SGD(model.parameters(), lr=lr, momentum=0.9)\n\n\n"
            "def train_epoch(model, optimizer, loader, criterion):\n"
            "    model.train()\n"
            "    total, n = 0.0, 0\n"
            "    for xb, yb in loader:\n"
            "        optimizer.zero_grad()\n"
            "        loss = criterion(model(xb), yb)\n"
            "        loss.backward()\n"
            "        optimizer.step()\n"
            "        total += loss.item() * len(yb); n += len(yb)\n"
            "    return total / n",
            "criterion = nn.CrossEntropyLoss()\n"
            "model = Net()\n"
            "optimizer = make_optimizer(model, lr=0.05)\n"
            "hist1 = {'train_loss': [], 'val_loss': [], 'val_acc': []}\n"
            "for epoch in range(3):\n"
            "    tl = train_epoch(model, optimizer, train_loader, criterion)\n"
            "    vl, va = evaluate(model, val_loader, criterion)\n"
            "    hist1['train_loss'].append(tl); hist1['val_loss'].append(vl); hist1['val_acc'].append(va)\n"
            "    print(f'Epoch [{epoch+1}/3] train_loss: {tl:.4f} val_loss: {vl:.4f} val_acc: {va:.4f}')",
            "%%md\nToo fast? Start again from scratch with the helper's default rate.",
            "model = Net()\n"
            "optimizer = make_optimizer(model)\n"
            "hist2 = {'train_loss': [], 'val_loss': [], 'val_acc': []}\n"
            "for epoch in range(4):\n"
            "    tl = train_epoch(model, optimizer, train_loader, criterion)\n"
            "    vl, va = evaluate(model, val_loader, criterion)\n"
            "    hist2['train_loss'].append(tl); hist2['val_loss'].append(vl); hist2['val_acc'].append(va)\n"
            "    print(f'Epoch [{epoch+1}/4] train_loss: {tl:.4f} val_loss: {vl:.4f} val_acc: {va:.4f}')",
        ],
        "oracle": "_heldout_plain_run('Net', 0.05, 3, hist1, style='helper optimizer')\n"
                  "_heldout_plain_run('Net', optimizer.param_groups[0]['lr'], 4, hist2, style='helper optimizer')",
    },
    {
        "name": "plain_rerun_train_cell",
        "style": "a user's notebook: the training cell executed twice on the same model (count 4 missing: "
                 "the first execution's output was replaced), 'epoch 1, loss 0.5432, val_loss …, acc 80.00%'",
        "cells": [
            LOADERS_EVAL, NET_EVAL,
            "LR = 1e-2\n"
            "model = Net()\n"
            "criterion = nn.CrossEntropyLoss()\n"
            "optimizer = optim.Adam(model.parameters(), lr=LR)\n"
            "runs = []",
            "losses, vlosses, accs = [], [], []\n"
            "for epoch in range(3):\n"
            "    model.train()\n"
            "    for xb, yb in train_loader:\n"
            "        optimizer.zero_grad()\n"
            "        loss = criterion(model(xb), yb)\n"
            "        loss.backward()\n"
            "        optimizer.step()\n"
            "    vl, va = evaluate(model, val_loader, criterion)\n"
            "    losses.append(loss.item()); vlosses.append(vl); accs.append(va)\n"
            "    print(f'epoch {epoch + 1}, loss {loss.item():.4f}, val_loss {vl:.4f}, acc {va:.2%}')\n"
            "runs.append((losses, vlosses, accs))",
            "%%md\nSecond pass over the data: the loss keeps going down.",
        ],
        # the training cell (3) runs twice on the same model. The trailing markdown cell was explore3's
        # workaround for run_cells cutting the oracle cell off when `order` was longer than the cells
        # (fixed: execution_order runs the oracle cell last); kept so that the notebook is as executed.
        "order": [0, 1, 2, 3, 3],
        "oracle": "for _l, _v, _a in runs:\n"
                  "    _heldout_plain_run('Net', LR, 3, {'train_loss': _l, 'val_loss': _v, 'val_acc': _a}, style='rerun')",
        "drop_runs": [1],
    },
    {
        "name": "plain_dataframe_history",
        "style": "Kaggle: a trange bar over epochs and nothing printed per epoch; the history shown afterwards as "
                 "pd.DataFrame(history) (an HTML table with epoch / train_loss / val_loss / val_acc)",
        "cells": [
            LOADERS_EVAL, NET_EVAL,
            "from tqdm import trange\n\n"
            "EPOCHS = 4\n"
            "model = Net(hidden=16)\n"
            "criterion = nn.CrossEntropyLoss()\n"
            "optimizer = optim.RMSprop(model.parameters(), lr=5e-3)\n"
            "history = []\n"
            "for epoch in trange(EPOCHS, desc='training'):\n"
            "    model.train()\n"
            "    total, n = 0.0, 0\n"
            "    for xb, yb in train_loader:\n"
            "        optimizer.zero_grad()\n"
            "        loss = criterion(model(xb), yb)\n"
            "        loss.backward()\n"
            "        optimizer.step()\n"
            "        total += loss.item() * len(yb); n += len(yb)\n"
            "    val_loss, val_acc = evaluate(model, val_loader, criterion)\n"
            "    history.append({'epoch': epoch + 1, 'train_loss': total / n, 'val_loss': val_loss, 'val_acc': val_acc})",
            "pd.DataFrame(history)",
        ],
        "oracle": "_heldout_plain_run('Net', 5e-3, EPOCHS, {k: [h[k] for h in history] for k in ('train_loss', 'val_loss', 'val_acc')},\n"
                  "                   style='dataframe')",
    },
    {
        "name": "plain_tqdm_postfix_only",
        "style": "Kaggle: only a tqdm bar per epoch (with tqdm(total=...) as pbar), the epoch's validation metrics put "
                 "in its postfix at the end; nothing else printed",
        "cells": [
            LOADERS_EVAL, NET_EVAL,
            "EPOCHS = 4\n"
            "model = Net().to(device)\n"
            "criterion = nn.CrossEntropyLoss()\n"
            "optimizer = optim.Adam(model.parameters(), lr=1e-3)",
            "history = {'train_loss': [], 'val_loss': [], 'val_acc': []}\n"
            "for epoch in range(EPOCHS):\n"
            "    model.train()\n"
            "    running, n = 0.0, 0\n"
            "    with tqdm(total=len(train_loader), desc=f\"Epoch {epoch+1}/{EPOCHS}\") as pbar:\n"
            "        for xb, yb in train_loader:\n"
            "            optimizer.zero_grad()\n"
            "            loss = criterion(model(xb), yb)\n"
            "            loss.backward()\n"
            "            optimizer.step()\n"
            "            running += loss.item() * len(yb); n += len(yb)\n"
            "            pbar.set_postfix(loss=f\"{running / n:.4f}\")\n"
            "            pbar.update(1)\n"
            "        val_loss, val_acc = evaluate(model, val_loader, criterion)\n"
            "        pbar.set_postfix(loss=f\"{running / n:.4f}\", val_loss=f\"{val_loss:.4f}\", val_acc=f\"{val_acc:.4f}\")\n"
            "    history['train_loss'].append(running / n); history['val_loss'].append(val_loss)\n"
            "    history['val_acc'].append(val_acc)",
        ],
        "oracle": "_heldout_plain_run('Net', 1e-3, EPOCHS, history, style='tqdm postfix only')",
    },
]

PL_DATA = '''import pandas as pd
import torch
from torch import nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
import pytorch_lightning as pl
from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.callbacks import LearningRateMonitor

pl.seed_everything(7)
X = torch.randn(256, 10)
y = (X[:, 0] + X[:, 1] > 0).long()
train_loader = DataLoader(TensorDataset(X[:192], y[:192]), batch_size=32, shuffle=True)
val_loader = DataLoader(TensorDataset(X[192:], y[192:]), batch_size=32)
'''


LIGHTNING += [
    {
        "name": "pl_no_bar_print_epoch_end",
        "style": "Lightning without a bar: enable_progress_bar=False, CSVLogger, LearningRateMonitor, a print in "
                 "on_validation_epoch_end, trainer.validate afterwards, metrics.csv shown as a DataFrame",
        "cells": [
            PL_DATA,
            "class LitNet(pl.LightningModule):\n"
            "    def __init__(self, lr=1e-3):\n"
            "        super().__init__()\n"
            "        self.save_hyperparameters()\n"
            "        self.net = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))\n\n"
            "    def forward(self, x):\n"
            "        return self.net(x)\n\n"
            "    def training_step(self, batch, batch_idx):\n"
            "        x, y = batch\n"
            "        loss = F.cross_entropy(self(x), y)\n"
            "        self.log('train_loss', loss, on_step=False, on_epoch=True)\n"
            "        return loss\n\n"
            "    def validation_step(self, batch, batch_idx):\n"
            "        x, y = batch\n"
            "        logits = self(x)\n"
            "        self.log('val_loss', F.cross_entropy(logits, y))\n"
            "        self.log('val_acc', (logits.argmax(1) == y).float().mean())\n\n"
            "    def on_validation_epoch_end(self):\n"
            "        m = self.trainer.callback_metrics\n"
            "        print(f\"Epoch {self.current_epoch}: val_loss={m['val_loss']:.4f}, val_acc={m['val_acc']:.4f}\")\n\n"
            "    def configure_optimizers(self):\n"
            "        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)",
            "model = LitNet(lr=2e-3)\n"
            "trainer = pl.Trainer(max_epochs=3, accelerator='cpu', enable_progress_bar=False, enable_model_summary=False,\n"
            "                     logger=CSVLogger('logs', name='litnet'),\n"
            "                     callbacks=[LearningRateMonitor(logging_interval='epoch')], enable_checkpointing=False)\n"
            "trainer.fit(model, train_loader, val_loader)",
            "trainer.validate(model, val_loader)",
            "metrics = pd.read_csv(f'{trainer.logger.log_dir}/metrics.csv')\n"
            "metrics.groupby('epoch').mean(numeric_only=True)",
        ],
        # train_loss is in callback_metrics (so in the oracle) but not in the per-epoch print; only the
        # metrics.csv DataFrame shows it, which the project does not read by design
        "not_printed": ["train_loss"],
    },
]

# Fourth batch (README.md, "The corpus"): 17 notebooks written and executed by a fourth person with the same
# machinery (plain loops, two of them HF models in a loop of their own, and Lightning); moved here from explore4's specs_new.py unchanged but for the names noted.
LOADERS = _TOY_IMPORTS.format(more="", tqdm="") + _TOY_LOADERS

NET4 = '''class Net(nn.Module):
    def __init__(self, hidden=32, n_classes=2):
        super().__init__()
        self.fc1 = nn.Linear(12, hidden)
        self.fc2 = nn.Linear(hidden, n_classes)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
'''

FNS = '''def train_one_epoch(model, loader, optimizer, criterion):
    model.train()
    total, n = 0.0, 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(yb)
        n += len(yb)
    return total / n


@torch.no_grad()
def validate(model, loader, criterion):
    model.eval()
    total, correct, n = 0.0, 0, 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        out = model(xb)
        total += criterion(out, yb).item() * len(yb)
        correct += (out.argmax(1) == yb).sum().item()
        n += len(yb)
    return total / n, correct / n
'''

PLAIN += [
    {
        "name": "plain_trainer_class",
        "style": "course/blog notebooks: a `class Trainer:` written in the notebook (train_epoch / validate / "
                 "fit(epochs)), 'Epoch 1/5 - loss: … - val_loss: … - val_acc: …' printed inside fit",
        "cells": [
            LOADERS, NET4,
            "class Trainer:\n"
            "    def __init__(self, model, optimizer, criterion, train_loader, val_loader, device='cpu'):\n"
            "        self.model = model\n"
            "        self.optimizer = optimizer\n"
            "        self.criterion = criterion\n"
            "        self.train_loader = train_loader\n"
            "        self.val_loader = val_loader\n"
            "        self.device = device\n"
            "        self.history = {'train_loss': [], 'val_loss': [], 'val_acc': []}\n\n"
            "    def train_epoch(self):\n"
            "        self.model.train()\n"
            "        total, n = 0.0, 0\n"
            "        for xb, yb in self.train_loader:\n"
            "            xb, yb = xb.to(self.device), yb.to(self.device)\n"
            "            self.optimizer.zero_grad()\n"
            "            loss = self.criterion(self.model(xb), yb)\n"
            "            loss.backward()\n"
            "            self.optimizer.step()\n"
            "            total += loss.item() * len(yb); n += len(yb)\n"
            "        return total / n\n\n"
            "    @torch.no_grad()\n"
            "    def validate(self):\n"
            "        self.model.eval()\n"
            "        total, correct, n = 0.0, 0, 0\n"
            "        for xb, yb in self.val_loader:\n"
            "            out = self.model(xb.to(self.device))\n"
            "            total += self.criterion(out, yb).item() * len(yb)\n"
            "            correct += (out.argmax(1) == yb).sum().item(); n += len(yb)\n"
            "        return total / n, correct / n\n\n"
            "    def fit(self, epochs):\n"
            "        for epoch in range(epochs):\n"
            "            tl = self.train_epoch()\n"
            "            vl, va = self.validate()\n"
            "            self.history['train_loss'].append(tl)\n"
            "            self.history['val_loss'].append(vl)\n"
            "            self.history['val_acc'].append(va)\n"
            "            print(f'Epoch {epoch+1}/{epochs} - loss: {tl:.4f} - val_loss: {vl:.4f} - val_acc: {va:.4f}')\n"
            "        return self.history",
            "model = Net().to(device)\n"
            "optimizer = optim.Adam(model.parameters(), lr=2e-3)\n"
            "trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(), train_loader, val_loader, device)\n"
            "history = trainer.fit(epochs=5)",
        ],
        "oracle": "_heldout_plain_run('Net', 2e-3, 5, history, style='notebook Trainer class')",
    },
    {
        "name": "plain_fns_earlystop",
        "style": "Kaggle: def train_one_epoch / def validate, top-level epoch loop, hand-written early stopping "
                 "(patience counter, 'Validation loss decreased (… --> …).  Saving model ...', break), "
                 "load_state_dict(torch.load('best.pt')) afterwards; saved by JupyterLab",
        "lab": True,
        "cells": [
            LOADERS, NET4, FNS,
            "EPOCHS = 30\n"
            "PATIENCE = 2\n"
            "model = Net(hidden=64).to(device)\n"
            "criterion = nn.CrossEntropyLoss()\n"
            "optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)",
            "best_val = float('inf')\n"
            "patience = PATIENCE\n"
            "history = {'train_loss': [], 'val_loss': [], 'val_acc': []}\n"
            "for epoch in range(EPOCHS):\n"
            "    tl = train_one_epoch(model, train_loader, optimizer, criterion)\n"
            "    vl, va = validate(model, val_loader, criterion)\n"
            "    history['train_loss'].append(tl); history['val_loss'].append(vl); history['val_acc'].append(va)\n"
            "    print(f'Epoch {epoch+1}/{EPOCHS} - loss: {tl:.4f} - val_loss: {vl:.4f} - val_acc: {va:.4f}')\n"
            "    if vl < best_val - 1e-3:\n"
            "        print(f'Validation loss decreased ({best_val:.6f} --> {vl:.6f}).  Saving model ...')\n"
            "        best_val = vl\n"
            "        torch.save(model.state_dict(), 'best.pt')\n"
            "        patience = PATIENCE\n"
            "    else:\n"
            "        patience -= 1\n"
            "        print(f'EarlyStopping counter: {PATIENCE - patience} out of {PATIENCE}')\n"
            "        if patience == 0:\n"
            "            print('Early stopping')\n"
            "            break\n"
            "model.load_state_dict(torch.load('best.pt'))",
        ],
        "oracle": "_heldout_plain_run('Net', 0.05, EPOCHS, history, style='fns + manual early stopping')",
    },
    {
        "name": "plain_kfold_amp_accum",
        "style": "Kaggle CV: for fold in range(N_FOLDS) with print(f'Fold {fold}') headers, model + AdamW(weight_decay) "
                 "per fold, torch.cuda.amp GradScaler/autocast guarded by use_amp (off on CPU), gradient accumulation",
        "cells": [
            LOADERS, NET4,
            "N_FOLDS = 3\n"
            "EPOCHS = 3\n"
            "LR = 2e-3\n"
            "ACCUM_STEPS = 2\n"
            "use_amp = torch.cuda.is_available()\n"
            "criterion = nn.CrossEntropyLoss()",
            "folds = torch.randperm(len(X), generator=torch.Generator().manual_seed(0)).chunk(N_FOLDS)\n"
            "fold_histories = []\n"
            "for fold in range(N_FOLDS):\n"
            "    print(f'Fold {fold}')\n"
            "    print('-' * 20)\n"
            "    val_idx = folds[fold]\n"
            "    trn_idx = torch.cat([folds[j] for j in range(N_FOLDS) if j != fold])\n"
            "    trn_dl = DataLoader(TensorDataset(X[trn_idx], y[trn_idx]), batch_size=32, shuffle=True)\n"
            "    val_dl = DataLoader(TensorDataset(X[val_idx], y[val_idx]), batch_size=64)\n"
            "    model = Net().to(device)\n"
            "    optimizer = optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-2)\n"
            "    scaler = torch.cuda.amp.GradScaler(enabled=use_amp)\n"
            "    hist = {'train_loss': [], 'val_loss': [], 'val_acc': []}\n"
            "    fold_histories.append(hist)\n"
            "    for epoch in range(EPOCHS):\n"
            "        model.train()\n"
            "        optimizer.zero_grad()\n"
            "        total, n = 0.0, 0\n"
            "        for i, (xb, yb) in enumerate(trn_dl):\n"
            "            with torch.cuda.amp.autocast(enabled=use_amp):\n"
            "                loss = criterion(model(xb.to(device)), yb.to(device))\n"
            "            scaler.scale(loss / ACCUM_STEPS).backward()\n"
            "            if (i + 1) % ACCUM_STEPS == 0 or (i + 1) == len(trn_dl):\n"
            "                scaler.step(optimizer)\n"
            "                scaler.update()\n"
            "                optimizer.zero_grad()\n"
            "            total += loss.item() * len(yb); n += len(yb)\n"
            "        model.eval()\n"
            "        with torch.no_grad():\n"
            "            out = torch.cat([model(xb) for xb, _ in val_dl]); tgt = torch.cat([yb for _, yb in val_dl])\n"
            "            vl = criterion(out, tgt).item(); va = (out.argmax(1) == tgt).float().mean().item()\n"
            "        hist['train_loss'].append(total / n); hist['val_loss'].append(vl); hist['val_acc'].append(va)\n"
            "        print(f'Epoch {epoch+1}/{EPOCHS} - loss: {total / n:.4f} - val_loss: {vl:.4f} - val_acc: {va:.4f}')\n"
            "    print(f'Fold {fold} best val_acc: {max(hist[\"val_acc\"]):.4f}')",
        ],
        "oracle": "for _h in fold_histories:\n"
                  "    _heldout_plain_run('Net', LR, EPOCHS, _h, style='kfold amp accum')",
    },
    {
        "name": "plain_load_state_dict_finetune",
        "style": "transfer within a notebook: a model trained and saved (torch.save(state_dict)), then a new Net() "
                 "with load_state_dict(torch.load(...)), fc1 frozen, optimizer over filter(requires_grad) at a lower rate",
        "cells": [
            LOADERS, NET4, FNS,
            "%%md\n## Pre-training on the source task",
            "criterion = nn.CrossEntropyLoss()\n"
            "base = Net().to(device)\n"
            "base_opt = optim.Adam(base.parameters(), lr=1e-2)\n"
            "hist_pre = {'train_loss': [], 'val_loss': [], 'val_acc': []}\n"
            "for epoch in range(3):\n"
            "    tl = train_one_epoch(base, train_loader, base_opt, criterion)\n"
            "    vl, va = validate(base, val_loader, criterion)\n"
            "    hist_pre['train_loss'].append(tl); hist_pre['val_loss'].append(vl); hist_pre['val_acc'].append(va)\n"
            "    print(f'Epoch {epoch+1}/3 - loss: {tl:.4f} - val_loss: {vl:.4f} - val_acc: {va:.4f}')\n"
            "torch.save(base.state_dict(), 'pretrained.pt')",
            "%%md\n## Fine-tuning from the saved weights",
            "model = Net().to(device)\n"
            "model.load_state_dict(torch.load('pretrained.pt', map_location=device))\n"
            "for p in model.fc1.parameters():\n"
            "    p.requires_grad = False\n"
            "optimizer = optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=1e-3)\n"
            "hist_ft = {'train_loss': [], 'val_loss': [], 'val_acc': []}\n"
            "for epoch in range(4):\n"
            "    tl = train_one_epoch(model, train_loader, optimizer, criterion)\n"
            "    vl, va = validate(model, val_loader, criterion)\n"
            "    hist_ft['train_loss'].append(tl); hist_ft['val_loss'].append(vl); hist_ft['val_acc'].append(va)\n"
            "    print(f'Epoch {epoch+1}/4 - loss: {tl:.4f} - val_loss: {vl:.4f} - val_acc: {va:.4f}')",
        ],
        "oracle": "_heldout_plain_run('Net', 1e-2, 3, hist_pre, style='pretrain')\n"
                  "_heldout_plain_run('Net', 1e-3, 4, hist_ft, style='finetune from state_dict')",
    },
    {
        "name": "plain_load_state_dict_resume",
        "style": "Kaggle 'resume from checkpoint': a model trained and saved, then `model = Net()` + "
                 "model.load_state_dict(torch.load(PATH)) and training all of it again at a lower rate "
                 "(optimizer over model.parameters())",
        "cells": [
            LOADERS, NET4, FNS,
            "criterion = nn.CrossEntropyLoss()\n"
            "model = Net().to(device)\n"
            "optimizer = optim.Adam(model.parameters(), lr=1e-2)\n"
            "hist_a = {'train_loss': [], 'val_loss': [], 'val_acc': []}\n"
            "for epoch in range(3):\n"
            "    tl = train_one_epoch(model, train_loader, optimizer, criterion)\n"
            "    vl, va = validate(model, val_loader, criterion)\n"
            "    hist_a['train_loss'].append(tl); hist_a['val_loss'].append(vl); hist_a['val_acc'].append(va)\n"
            "    print(f'Epoch {epoch+1}/3 - loss: {tl:.4f} - val_loss: {vl:.4f} - val_acc: {va:.4f}')\n"
            "PATH = 'checkpoint.pt'\n"
            "torch.save(model.state_dict(), PATH)",
            "%%md\nThe next day: restart from the checkpoint.",
            "model = Net().to(device)\n"
            "model.load_state_dict(torch.load(PATH))\n"
            "optimizer = optim.Adam(model.parameters(), lr=1e-3)\n"
            "hist_b = {'train_loss': [], 'val_loss': [], 'val_acc': []}\n"
            "for epoch in range(3):\n"
            "    tl = train_one_epoch(model, train_loader, optimizer, criterion)\n"
            "    vl, va = validate(model, val_loader, criterion)\n"
            "    hist_b['train_loss'].append(tl); hist_b['val_loss'].append(vl); hist_b['val_acc'].append(va)\n"
            "    print(f'Epoch {epoch+1}/3 - loss: {tl:.4f} - val_loss: {vl:.4f} - val_acc: {va:.4f}')",
        ],
        "oracle": "_heldout_plain_run('Net', 1e-2, 3, hist_a, style='train + save')\n"
                  "_heldout_plain_run('Net', 1e-3, 3, hist_b, style='resume from state_dict')",
    },
    {
        "name": "plain_rerun_interrupted",
        "style": "a user's notebook: the training cell ran to the end, then was run again and stopped with the "
                 "stop button (KeyboardInterrupt traceback after 2-3 epochs); only the second execution's output "
                 "is saved; 'Epoch 1/6: train_loss=… val_loss=… val_acc=…'",
        "cells": [
            "import torch\nfrom torch import nn, optim\nfrom torch.utils.data import DataLoader, TensorDataset\n\n"
            "torch.manual_seed(0)\n"
            "X = torch.randn(24000, 12)\n"
            "y = (X[:, :4].sum(1) > 0).long()\n"
            "train_loader = DataLoader(TensorDataset(X[:20000], y[:20000]), batch_size=64, shuffle=True)\n"
            "val_loader = DataLoader(TensorDataset(X[20000:], y[20000:]), batch_size=512)",
            "model = nn.Sequential(nn.Linear(12, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 2))\n"
            "criterion = nn.CrossEntropyLoss()\n"
            "optimizer = optim.Adam(model.parameters(), lr=5e-4)\n"
            "EPOCHS = 6\n"
            "runs = []",
            "hist = {'train_loss': [], 'val_loss': [], 'val_acc': []}\n"
            "runs.append(hist)\n"
            "for epoch in range(EPOCHS):\n"
            "    model.train()\n"
            "    total, n = 0.0, 0\n"
            "    for xb, yb in train_loader:\n"
            "        optimizer.zero_grad()\n"
            "        loss = criterion(model(xb), yb)\n"
            "        loss.backward()\n"
            "        optimizer.step()\n"
            "        total += loss.item() * len(yb); n += len(yb)\n"
            "    model.eval()\n"
            "    with torch.no_grad():\n"
            "        out = torch.cat([model(xb) for xb, _ in val_loader]); tgt = torch.cat([yb for _, yb in val_loader])\n"
            "    vl = nn.functional.cross_entropy(out, tgt).item(); va = (out.argmax(1) == tgt).float().mean().item()\n"
            "    hist['train_loss'].append(total / n); hist['val_loss'].append(vl); hist['val_acc'].append(va)\n"
            "    print(f'Epoch {epoch+1}/{EPOCHS}: train_loss={total / n:.4f} val_loss={vl:.4f} val_acc={va:.4f}')",
            "%%md\nNotes: the second pass was stopped by hand.",
        ],
        "order": [0, 1, 2, 2, 3],
        "interrupt": {3: {"of_previous": 2.5 / 6}},  # the stop button, 2.5 of the 6 epochs in
        "oracle": "_heldout_plain_run('Sequential', 5e-4, EPOCHS, runs[-1], style='rerun interrupted')",
        "drop_runs": [],
    },
]

from specs_hf import SETUP as HF_SETUP  # noqa: E402

HF_LOOP_SETUP = HF_SETUP + '''
from torch.utils.data import DataLoader
from transformers import get_linear_schedule_with_warmup, get_scheduler

train_loader = DataLoader(train_ds, batch_size=16, shuffle=True)
eval_loader = DataLoader(eval_ds, batch_size=32)
'''

PLAIN += [
    {
        "name": "plain_hf_warmup_accum",
        "style": "Kaggle transformer loop: BertForSequenceClassification(config) in its own loop, AdamW(weight_decay), "
                 "get_linear_schedule_with_warmup stepped per optimizer step, gradient accumulation, "
                 "torch.cuda.amp guarded by device",
        "cells": [
            HF_LOOP_SETUP,
            "from transformers import BertForSequenceClassification\n\n"
            "EPOCHS = 3\n"
            "ACCUM = 2\n"
            "device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')\n"
            "model = BertForSequenceClassification(config).to(device)\n"
            "no_decay = ['bias', 'LayerNorm.weight']\n"
            "params = [\n"
            "    {'params': [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], 'weight_decay': 0.01},\n"
            "    {'params': [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], 'weight_decay': 0.0},\n"
            "]\n"
            "optimizer = torch.optim.AdamW(params, lr=5e-4)\n"
            "total_steps = len(train_loader) * EPOCHS // ACCUM\n"
            "scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=int(0.1 * total_steps),\n"
            "                                            num_training_steps=total_steps)\n"
            "scaler = torch.cuda.amp.GradScaler(enabled=torch.cuda.is_available())",
            "history = {'train_loss': [], 'val_loss': [], 'val_acc': []}\n"
            "for epoch in range(EPOCHS):\n"
            "    model.train()\n"
            "    total = 0.0\n"
            "    for step, batch in enumerate(train_loader):\n"
            "        with torch.autocast(device_type=device.type, enabled=torch.cuda.is_available()):\n"
            "            out = model(**batch)\n"
            "            loss = out.loss / ACCUM\n"
            "        scaler.scale(loss).backward()\n"
            "        if (step + 1) % ACCUM == 0:\n"
            "            scaler.unscale_(optimizer)\n"
            "            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n"
            "            scaler.step(optimizer); scaler.update()\n"
            "            optimizer.zero_grad(); scheduler.step()\n"
            "        total += out.loss.item()\n"
            "    model.eval()\n"
            "    vl, correct = 0.0, 0\n"
            "    with torch.no_grad():\n"
            "        for batch in eval_loader:\n"
            "            out = model(**batch)\n"
            "            vl += out.loss.item() * len(batch['labels'])\n"
            "            correct += (out.logits.argmax(-1) == batch['labels']).sum().item()\n"
            "    tl, vl, va = total / len(train_loader), vl / len(eval_ds), correct / len(eval_ds)\n"
            "    history['train_loss'].append(tl); history['val_loss'].append(vl); history['val_acc'].append(va)\n"
            "    print(f'Epoch {epoch+1}/{EPOCHS} - loss: {tl:.4f} - val_loss: {vl:.4f} - val_acc: {va:.4f}')",
        ],
        "oracle": "_heldout_plain_run('BertForSequenceClassification', 5e-4, EPOCHS, history, style='hf warmup accum')",
    },
    {
        "name": "plain_accelerate_course",
        "style": "HF course ch3 'full training' with Accelerate: model/optimizer/loaders through accelerator.prepare, "
                 "get_scheduler('linear'), a tqdm bar over all steps, accelerator.print(f'epoch {epoch}: …') per epoch",
        "cells": [
            HF_LOOP_SETUP,
            "from accelerate import Accelerator\n"
            "from tqdm.auto import tqdm\n\n"
            "accelerator = Accelerator(cpu=True)\n"
            "model = AutoModelForSequenceClassification.from_config(config)\n"
            "optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)\n"
            "train_dl, eval_dl, model, optimizer = accelerator.prepare(train_loader, eval_loader, model, optimizer)\n"
            "num_epochs = 3\n"
            "num_training_steps = num_epochs * len(train_dl)\n"
            "lr_scheduler = get_scheduler('linear', optimizer=optimizer, num_warmup_steps=0,\n"
            "                             num_training_steps=num_training_steps)",
            "progress_bar = tqdm(range(num_training_steps))\n"
            "history = {'train_loss': [], 'val_loss': [], 'val_acc': []}\n"
            "for epoch in range(num_epochs):\n"
            "    model.train()\n"
            "    total = 0.0\n"
            "    for batch in train_dl:\n"
            "        outputs = model(**batch)\n"
            "        loss = outputs.loss\n"
            "        accelerator.backward(loss)\n"
            "        optimizer.step()\n"
            "        lr_scheduler.step()\n"
            "        optimizer.zero_grad()\n"
            "        progress_bar.update(1)\n"
            "        total += loss.item()\n"
            "    model.eval()\n"
            "    vl, correct = 0.0, 0\n"
            "    for batch in eval_dl:\n"
            "        with torch.no_grad():\n"
            "            outputs = model(**batch)\n"
            "        vl += outputs.loss.item() * len(batch['labels'])\n"
            "        correct += (outputs.logits.argmax(-1) == batch['labels']).sum().item()\n"
            "    tl, vl, acc = total / len(train_dl), vl / len(eval_ds), correct / len(eval_ds)\n"
            "    history['train_loss'].append(tl); history['val_loss'].append(vl); history['val_acc'].append(acc)\n"
            "    accelerator.print(f'epoch {epoch}: train_loss {tl:.4f}, eval_loss {vl:.4f}, accuracy {acc:.4f}')",
        ],
        "oracle": "_heldout_plain_run('BertForSequenceClassification', 3e-4, num_epochs, history, style='accelerate course',\n"
                  "                   display_base=0)",
    },
]

PL_BACKBONE = '''from pytorch_lightning.callbacks import EarlyStopping


class LitModel(pl.LightningModule):
    def __init__(self, backbone, lr=1e-3):
        super().__init__()
        self.save_hyperparameters(ignore=["backbone"])
        self.backbone = backbone
        self.head = nn.Linear(16, 2)

    def forward(self, x):
        return self.head(self.backbone(x))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.log("val_loss", F.cross_entropy(logits, y), prog_bar=True)
        self.log("val_acc", (logits.argmax(1) == y).float().mean(), prog_bar=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
'''

LIGHTNING += [
    {
        "name": "pl_backbone_earlystop",
        "style": "Lightning: LitModel(backbone=nn.Sequential(...)) (a backbone passed in), seed_everything, "
                 "Trainer(max_epochs=30, callbacks=[EarlyStopping(monitor='val_loss', verbose=True)]) stopping early",
        "cells": [
            PL_SETUP, PL_BACKBONE,
            "pl.seed_everything(0)\n"
            "model = LitModel(backbone=nn.Sequential(nn.Linear(10, 16), nn.ReLU()), lr=5e-2)\n"
            "early = EarlyStopping(monitor='val_loss', patience=2, min_delta=0.01, mode='min', verbose=True)\n"
            "trainer = pl.Trainer(max_epochs=30, callbacks=[early, TQDMProgressBar(refresh_rate=2)], accelerator='cpu',\n"
            "                     enable_model_summary=False,\n"
            "                     logger=False, enable_checkpointing=False)\n"
            "trainer.fit(model, train_loader, val_loader)",
        ],
    },
    {
        "name": "pl_fit_twice_same_trainer",
        "style": "Lightning: trainer.fit called again on the same Trainer (does nothing: max_epochs reached), "
                 "then trainer.fit_loop.max_epochs = 5 and fit again (continues with epochs 3-4)",
        "cells": [
            PL_SETUP, PL_MODEL,
            "model = LitClassifier(lr=1e-2)\n"
            "trainer = pl.Trainer(max_epochs=3, accelerator='cpu', enable_model_summary=False, logger=False,\n"
            "                     callbacks=[TQDMProgressBar(refresh_rate=2)],\n"
            "                     enable_checkpointing=False)\n"
            "trainer.fit(model, train_loader, val_loader)",
            "%%md\nTrain a bit more.",
            "trainer.fit(model, train_loader, val_loader)",
            "trainer.fit_loop.max_epochs = 5\n"
            "trainer.fit(model, train_loader, val_loader)",
        ],
    },
]


for _spec in LIGHTNING:
    _spec.update(kernel="ml", hooks="lightning")
for _spec in PLAIN:
    _spec.update(kernel="ml", hooks="")

LOOPS = [*LIGHTNING, *PLAIN, *NEGATIVE]
