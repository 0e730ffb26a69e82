"""HuggingFace Trainer notebooks of the held-out corpus (styles of the HF course and transformers examples).

Each spec: ``name``, ``kernel`` (``ml``/``tf``), ``hooks`` (see ``oracle_hooks.py``), ``style`` (the
source imitated), ``cells`` (code; a cell starting with ``%%md`` is markdown); optional keys
(``order``, ``oracle``, ``clear``, ``drop_runs``, ``drop_rows``) are described in ``make_corpus.py``.
"""

SETUP = '''import numpy as np
import torch
from torch.utils.data import Dataset
from transformers import (AutoModelForSequenceClassification, BertConfig, DistilBertConfig,
                          Trainer, TrainingArguments)

torch.manual_seed(0)


class ToyGlue(Dataset):
    """Random token ids standing in for a tokenized GLUE split (no hub download here)."""

    def __init__(self, n, seq_len=16, vocab=100, num_labels=2, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.input_ids = torch.randint(0, vocab, (n, seq_len), generator=g)
        self.labels = (self.input_ids[:, 0] % num_labels)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"input_ids": self.input_ids[i], "attention_mask": torch.ones_like(self.input_ids[i]),
                "labels": self.labels[i]}


train_ds, eval_ds = ToyGlue(96, seed=1), ToyGlue(32, seed=2)
config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=64, max_position_embeddings=32, num_labels=2)
'''

ACCURACY = '''def compute_metrics(eval_pred):
    logits, labels = eval_pred
    predictions = np.argmax(logits, axis=-1)
    return {"accuracy": float((predictions == labels).mean())}
'''

GLUE_METRICS = '''def matthews(preds, labels):
    tp = ((preds == 1) & (labels == 1)).sum(); tn = ((preds == 0) & (labels == 0)).sum()
    fp = ((preds == 1) & (labels == 0)).sum(); fn = ((preds == 0) & (labels == 1)).sum()
    den = np.sqrt(float((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))) or 1.0
    return float((tp * tn - fp * fn) / den)


def compute_metrics(eval_pred):
    predictions, labels = eval_pred
    predictions = np.argmax(predictions, axis=1)
    return {"matthews_correlation": matthews(predictions, labels),
            "accuracy": float((predictions == labels).mean())}
'''

HF = [
    {
        "name": "hf_course_ch3_trainer",
        "style": "HF course chapter 3 (Trainer, eval_strategy='epoch', compute_metrics, evaluate() after)",
        "cells": [
            "%%md\n# Fine-tuning a model with the Trainer API",
            SETUP, ACCURACY,
            'model = AutoModelForSequenceClassification.from_config(config)\n'
            'training_args = TrainingArguments("test-trainer", eval_strategy="epoch", learning_rate=5e-4,\n'
            '                                  num_train_epochs=3, per_device_train_batch_size=16,\n'
            '                                  save_strategy="no", report_to="none")\n'
            'trainer = Trainer(model, training_args, train_dataset=train_ds, eval_dataset=eval_ds,\n'
            '                  compute_metrics=compute_metrics)',
            "trainer.train()",
            "trainer.evaluate()",
        ],
    },
    {
        "name": "hf_text_classification_glue",
        "style": "transformers notebooks text_classification.ipynb (GLUE, matthews_correlation, No log rows)",
        "cells": [
            "%%md\n## Fine-tuning on CoLA\nThe metric is the Matthews correlation.",
            SETUP, GLUE_METRICS,
            'task = "cola"\nbatch_size = 16\nmetric_name = "matthews_correlation"\n'
            'model = AutoModelForSequenceClassification.from_config(config)\n'
            'args = TrainingArguments(\n    f"bert-tiny-finetuned-{task}",\n    eval_strategy="epoch",\n'
            '    save_strategy="no",\n    learning_rate=1e-3,\n    per_device_train_batch_size=batch_size,\n'
            '    per_device_eval_batch_size=batch_size,\n    num_train_epochs=4,\n    weight_decay=0.01,\n'
            '    metric_for_best_model=metric_name,\n    report_to="none",\n)',
            "trainer = Trainer(model, args, train_dataset=train_ds, eval_dataset=eval_ds, compute_metrics=compute_metrics)",
            "trainer.train()",
            "trainer.evaluate()",
        ],
    },
    {
        "name": "hf_step_evaluation",
        "style": "transformers examples: eval_strategy='steps' (Step column), logging_steps",
        "cells": [
            SETUP, ACCURACY,
            'model = AutoModelForSequenceClassification.from_config(config)\n'
            'args = TrainingArguments(output_dir="runs/steps", eval_strategy="steps", eval_steps=4,\n'
            '                         logging_steps=4, learning_rate=3e-4, num_train_epochs=3,\n'
            '                         per_device_train_batch_size=8, save_strategy="no", report_to="none")\n'
            'trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n'
            '                  compute_metrics=compute_metrics)\n'
            'trainer.train()',
        ],
    },
    {
        "name": "hf_disable_tqdm_logs",
        "style": "Kaggle/Colab HF notebooks with disable_tqdm=True (log dicts on stdout)",
        "cells": [
            SETUP, ACCURACY,
            'model = AutoModelForSequenceClassification.from_config(config)\n'
            'args = TrainingArguments(output_dir="out", eval_strategy="epoch", logging_strategy="epoch",\n'
            '                         learning_rate=2e-4, num_train_epochs=3, per_device_train_batch_size=16,\n'
            '                         disable_tqdm=True, save_strategy="no", report_to="none")\n'
            'trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n'
            '                  compute_metrics=compute_metrics)',
            "trainer.train()",
            "metrics = trainer.evaluate()\nprint(metrics)",
        ],
    },
    {
        "name": "hf_no_evaluation",
        "style": "transformers language-modeling style: no eval set, Step / Training Loss table",
        "cells": [
            SETUP,
            'model = AutoModelForSequenceClassification.from_config(config)\n'
            'args = TrainingArguments(output_dir="lm", learning_rate=1e-3, num_train_epochs=2,\n'
            '                         per_device_train_batch_size=8, logging_steps=3, save_strategy="no",\n'
            '                         report_to="none")\n'
            'trainer = Trainer(model=model, args=args, train_dataset=train_ds)\n'
            'trainer.train()',
        ],
    },
    {
        "name": "hf_lr_sweep",
        "style": "hyper-parameter sweep notebook: a loop re-creating model and Trainer per learning rate",
        "cells": [
            SETUP, ACCURACY,
            "results = {}\n"
            "for lr in [1e-4, 5e-4, 1e-3]:\n"
            "    model = AutoModelForSequenceClassification.from_config(config)\n"
            "    args = TrainingArguments(output_dir=f'sweep-{lr}', eval_strategy='epoch', learning_rate=lr,\n"
            "                             num_train_epochs=2, per_device_train_batch_size=16, logging_steps=3,\n"
            "                             save_strategy='no', report_to='none')\n"
            "    trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                      compute_metrics=compute_metrics)\n"
            "    trainer.train()\n"
            "    results[lr] = trainer.evaluate()['eval_accuracy']",
            "results",
        ],
    },
    {
        "name": "hf_two_architectures",
        "style": "model comparison notebook: DistilBERT then BERT from configs, two Trainers",
        "cells": [
            SETUP, ACCURACY,
            "distil_config = DistilBertConfig(vocab_size=100, dim=32, n_layers=2, n_heads=2, hidden_dim=64,\n"
            "                                 max_position_embeddings=32, num_labels=2)\n"
            "distil = AutoModelForSequenceClassification.from_config(distil_config)\n"
            "args = TrainingArguments(output_dir='distil', eval_strategy='epoch', learning_rate=1e-3,\n"
            "                         num_train_epochs=3, per_device_train_batch_size=16, logging_steps=2,\n"
            "                         save_strategy='no', report_to='none')\n"
            "trainer = Trainer(model=distil, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                  compute_metrics=compute_metrics)\n"
            "trainer.train()",
            "%%md\nNow the BERT baseline.",
            "bert = AutoModelForSequenceClassification.from_config(config)\n"
            "args = TrainingArguments(output_dir='bert', eval_strategy='epoch', learning_rate=5e-4,\n"
            "                         num_train_epochs=2, per_device_train_batch_size=16, logging_steps=2,\n"
            "                         save_strategy='no', report_to='none')\n"
            "trainer = Trainer(model=bert, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                  compute_metrics=compute_metrics)\n"
            "trainer.train()",
        ],
    },
    {
        "name": "hf_disable_tqdm_steps",
        "style": "script-like notebook: disable_tqdm=True with step evaluation and a train summary dict",
        "cells": [
            SETUP, GLUE_METRICS,
            "model = AutoModelForSequenceClassification.from_config(config)\n"
            "training_args = TrainingArguments(output_dir='./results', num_train_epochs=2,\n"
            "    per_device_train_batch_size=8, per_device_eval_batch_size=16, warmup_steps=2,\n"
            "    learning_rate=4e-4, weight_decay=0.01, logging_steps=6, eval_strategy='steps', eval_steps=6,\n"
            "    disable_tqdm=True, save_strategy='no', report_to='none')\n"
            "trainer = Trainer(model=model, args=training_args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                  compute_metrics=compute_metrics)",
            "train_result = trainer.train()\nprint(train_result)",
        ],
    },
]

HF.append({
    "name": "hf_epoch_logging_f1",
    "style": "HF token/sequence classification notebooks: logging_strategy='epoch' (Training Loss filled), "
             "F1 / precision / recall metrics",
    "cells": [
        SETUP,
        "def compute_metrics(p):\n"
        "    preds = np.argmax(p.predictions, axis=-1)\n"
        "    labels = p.label_ids\n"
        "    tp = float(((preds == 1) & (labels == 1)).sum())\n"
        "    precision = tp / max(float((preds == 1).sum()), 1.0)\n"
        "    recall = tp / max(float((labels == 1).sum()), 1.0)\n"
        "    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0\n"
        "    return {'precision': precision, 'recall': recall, 'f1': f1}",
        "model = AutoModelForSequenceClassification.from_config(config)\n"
        "args = TrainingArguments('clf', eval_strategy='epoch', logging_strategy='epoch', learning_rate=8e-4,\n"
        "                         num_train_epochs=4, per_device_train_batch_size=32, save_strategy='no',\n"
        "                         report_to='none')\n"
        "trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
        "                  compute_metrics=compute_metrics)\n"
        "trainer.train()",
    ],
})

HF.append({
    "name": "hf_interrupted_run",
    "style": "a Trainer run stopped mid-way (KeyboardInterrupt; a callback stands in for the stop button), "
             "then a shorter run",
    "cells": [
        SETUP, ACCURACY,
        "from transformers import TrainerCallback\n\n\nclass StopButton(TrainerCallback):\n"
        "    def on_step_end(self, args, state, control, **kwargs):\n"
        "        if state.global_step == 10:\n            raise KeyboardInterrupt",
        "model = AutoModelForSequenceClassification.from_config(config)\n"
        "args = TrainingArguments('long-run', eval_strategy='steps', eval_steps=4, logging_steps=4,\n"
        "                         learning_rate=3e-4, num_train_epochs=10, per_device_train_batch_size=16,\n"
        "                         save_strategy='no', report_to='none')\n"
        "trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
        "                  compute_metrics=compute_metrics, callbacks=[StopButton()])\n"
        "trainer.train()",
        "%%md\nToo slow: two epochs only.",
        "model = AutoModelForSequenceClassification.from_config(config)\n"
        "args = TrainingArguments('short-run', eval_strategy='epoch', logging_strategy='epoch', learning_rate=3e-4,\n"
        "                         num_train_epochs=2, per_device_train_batch_size=16, save_strategy='no',\n"
        "                         report_to='none')\n"
        "trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
        "                  compute_metrics=compute_metrics)\n"
        "trainer.train()",
    ],
})

# Second batch (benchmarks/heldout/README.md, "The corpus"): styles the first batch did not cover, written
# and executed by a second person with the same machinery; see the README for the post-processing keys.
HF += [
    {
        "name": "hf_args_dict_unpack",
        "style": "Kaggle/blog notebooks: hyper-parameters in constants of an earlier cell, TrainingArguments(**dict)",
        "cells": [
            SETUP, ACCURACY,
            "LR = 2e-4\nEPOCHS = 3\nBATCH = 16",
            'training_args = dict(\n    output_dir="bert-cls",\n    eval_strategy="epoch",\n'
            '    logging_strategy="epoch",\n    learning_rate=LR,\n    num_train_epochs=EPOCHS,\n'
            '    per_device_train_batch_size=BATCH,\n    save_strategy="no",\n    report_to="none",\n)\n'
            'args = TrainingArguments(**training_args)\n'
            'model = AutoModelForSequenceClassification.from_config(config)\n'
            'trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n'
            '                  compute_metrics=compute_metrics)\n'
            'trainer.train()',
        ],
    },
    {
        "name": "hf_cfg_class",
        "style": "Kaggle competition notebooks: a `class CFG:` of class attributes read by TrainingArguments",
        "cells": [
            SETUP, ACCURACY,
            "class CFG:\n    output_dir = 'bert-scratch'\n    lr = 3e-4\n    epochs = 2\n    batch_size = 16\n"
            "    seed = 42",
            "model = AutoModelForSequenceClassification.from_config(config)\n"
            "args = TrainingArguments(output_dir=CFG.output_dir, eval_strategy='epoch', learning_rate=CFG.lr,\n"
            "                         num_train_epochs=CFG.epochs, per_device_train_batch_size=CFG.batch_size,\n"
            "                         seed=CFG.seed, save_strategy='no', report_to='none')\n"
            "trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                  compute_metrics=compute_metrics)\n"
            "trainer.train()",
        ],
    },
    {
        "name": "hf_resume_checkpoint",
        "style": "Colab notebooks: a run saved per epoch, then trainer.train(resume_from_checkpoint=True) to more epochs",
        "cells": [
            SETUP, ACCURACY,
            "model = AutoModelForSequenceClassification.from_config(config)\n"
            "args = TrainingArguments('ckpt', eval_strategy='epoch', save_strategy='epoch', logging_strategy='epoch',\n"
            "                         learning_rate=5e-4, num_train_epochs=2, per_device_train_batch_size=16,\n"
            "                         report_to='none')\n"
            "trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                  compute_metrics=compute_metrics)\n"
            "trainer.train()",
            "%%md\nThe runtime disconnected. Continue to 4 epochs from the last checkpoint.",
            "model = AutoModelForSequenceClassification.from_config(config)\n"
            "args = TrainingArguments('ckpt', eval_strategy='epoch', save_strategy='epoch', logging_strategy='epoch',\n"
            "                         learning_rate=5e-4, num_train_epochs=4, per_device_train_batch_size=16,\n"
            "                         report_to='none')\n"
            "trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                  compute_metrics=compute_metrics)\n"
            "trainer.train(resume_from_checkpoint=True)",
        ],
        # the resumed Trainer restores log_history from the checkpoint: epochs 1-2 are not in its table
        "drop_rows": {2: [0, 1]},
    },
    {
        "name": "hf_model_init",
        "style": "HF hyper-parameter-search notebooks: Trainer(model_init=model_init, ...) instead of a model",
        "cells": [
            SETUP, ACCURACY,
            "def model_init():\n    return AutoModelForSequenceClassification.from_config(config)",
            "args = TrainingArguments('model-init', eval_strategy='epoch', learning_rate=1e-3, num_train_epochs=2,\n"
            "                         per_device_train_batch_size=16, save_strategy='no', report_to='none')\n"
            "trainer = Trainer(model_init=model_init, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                  compute_metrics=compute_metrics)\n"
            "trainer.train()",
        ],
    },
    {
        "name": "hf_train_twice",
        "style": "Colab notebooks: trainer.train() called again in a later cell to train more (restarts its schedule)",
        "cells": [
            SETUP, ACCURACY,
            "model = AutoModelForSequenceClassification.from_config(config)\n"
            "args = TrainingArguments('twice', eval_strategy='epoch', logging_strategy='epoch', learning_rate=5e-4,\n"
            "                         num_train_epochs=2, per_device_train_batch_size=16, save_strategy='no',\n"
            "                         report_to='none')\n"
            "trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                  compute_metrics=compute_metrics)\n"
            "trainer.train()",
            "%%md\nNot converged yet: two more epochs.",
            "trainer.train()",
        ],
    },
]

# Third batch (README.md, "The corpus"): 15 notebooks written and executed by a third person with the same
# machinery (HuggingFace Trainer).
T5_SETUP = '''import torch
from torch.utils.data import Dataset
from transformers import (T5Config, T5ForConditionalGeneration, Seq2SeqTrainer, Seq2SeqTrainingArguments)

torch.manual_seed(0)


class ReverseTask(Dataset):
    """Toy seq2seq data: the target is the source reversed (no tokenizer download)."""

    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.src = torch.randint(2, 40, (n, 8), generator=g)

    def __len__(self):
        return len(self.src)

    def __getitem__(self, i):
        return {"input_ids": self.src[i], "attention_mask": torch.ones(8, dtype=torch.long),
                "labels": self.src[i].flip(0)}


train_ds, eval_ds = ReverseTask(96, 1), ReverseTask(32, 2)
config = T5Config(vocab_size=40, d_model=32, d_ff=64, d_kv=16, num_layers=2, num_decoder_layers=2, num_heads=2,
                  decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
'''


HF += [
    {
        "name": "hf_seq2seq_t5",
        "style": "HF summarization/translation notebooks: Seq2SeqTrainingArguments + Seq2SeqTrainer, T5 from config",
        "cells": [
            T5_SETUP,
            "model = T5ForConditionalGeneration(config)\n"
            "args = Seq2SeqTrainingArguments(\n"
            "    output_dir='t5-reverse',\n"
            "    eval_strategy='epoch',\n"
            "    logging_strategy='epoch',\n"
            "    learning_rate=1e-3,\n"
            "    per_device_train_batch_size=16,\n"
            "    per_device_eval_batch_size=16,\n"
            "    weight_decay=0.01,\n"
            "    num_train_epochs=3,\n"
            "    predict_with_generate=False,\n"
            "    save_strategy='no',\n"
            "    report_to='none',\n"
            ")\n"
            "trainer = Seq2SeqTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds)\n"
            "trainer.train()",
        ],
    },
    {
        "name": "hf_old_kwarg_crash_then_fixed",
        "style": "an old Colab notebook re-run on transformers 5: evaluation_strategy= raises TypeError, "
                 "the next cell fixes it (eval_strategy=) and trains",
        "cells": [
            SETUP, ACCURACY,
            "model = AutoModelForSequenceClassification.from_config(config)\n"
            "args = TrainingArguments('old-style', evaluation_strategy='epoch', learning_rate=2e-5,\n"
            "                         num_train_epochs=3, per_device_train_batch_size=16, save_strategy='no')\n"
            "trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                  compute_metrics=compute_metrics)\n"
            "trainer.train()",
            "%%md\n`evaluation_strategy` was renamed `eval_strategy`.",
            "args = TrainingArguments('new-style', eval_strategy='epoch', learning_rate=5e-4,\n"
            "                         num_train_epochs=2, per_device_train_batch_size=16, save_strategy='no')\n"
            "trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                  compute_metrics=compute_metrics)\n"
            "trainer.train()",
        ],
    },
    {
        "name": "hf_weighted_trainer_lr_loop",
        "style": "Kaggle: class WeightedTrainer(Trainer) with compute_loss, a loop over rates making model + trainer, "
                 "print(trainer.evaluate()) after each",
        "cells": [
            SETUP, ACCURACY,
            "class_weights = torch.tensor([1.0, 2.0])\n\n\n"
            "class WeightedTrainer(Trainer):\n"
            "    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):\n"
            "        labels = inputs.pop('labels')\n"
            "        outputs = model(**inputs)\n"
            "        loss = torch.nn.functional.cross_entropy(outputs.logits, labels, weight=class_weights)\n"
            "        return (loss, outputs) if return_outputs else loss",
            "results = {}\n"
            "for lr in [1e-3, 3e-4]:\n"
            "    model = AutoModelForSequenceClassification.from_config(config)\n"
            "    args = TrainingArguments(f'weighted-{lr}', eval_strategy='epoch', logging_strategy='epoch',\n"
            "                             learning_rate=lr, num_train_epochs=2, per_device_train_batch_size=16,\n"
            "                             save_strategy='no', report_to='none')\n"
            "    trainer = WeightedTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                              compute_metrics=compute_metrics)\n"
            "    trainer.train()\n"
            "    metrics = trainer.evaluate()\n"
            "    print(metrics)\n"
            "    results[lr] = metrics['eval_accuracy']",
            "results",
        ],
    },
    {
        "name": "hf_steps_eval_args_loop",
        "style": "eval_strategy='steps' with logging_steps / eval_steps, default report_to, then "
                 "for lr in [...]: trainer.args.learning_rate = lr; trainer.train() on the same trainer",
        "cells": [
            SETUP, ACCURACY,
            "model = AutoModelForSequenceClassification.from_config(config)\n"
            "args = TrainingArguments('steps-eval', eval_strategy='steps', eval_steps=4, logging_steps=4,\n"
            "                         learning_rate=2e-4, num_train_epochs=2, per_device_train_batch_size=16,\n"
            "                         save_strategy='no')\n"
            "trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                  compute_metrics=compute_metrics)",
            "for lr in [1e-3, 5e-4]:\n"
            "    trainer.args.learning_rate = lr\n"
            "    trainer.train()",
        ],
    },
]

# Fourth batch (README.md, "The corpus"): 17 notebooks written and executed by a fourth person with the same
# machinery (HuggingFace Trainer); moved here from explore4's specs_new.py unchanged but for the names noted.
HF += [
    {
        "name": "hf_argparse_namespace",
        "style": "scripts pasted into Colab: argparse.ArgumentParser with defaults + parse_args(args=[]), "
                 "learning_rate=args.lr; then an argparse.Namespace unpacked with TrainingArguments(**vars(hp))",
        "cells": [
            SETUP, ACCURACY,
            "import argparse\n\n"
            "parser = argparse.ArgumentParser()\n"
            "parser.add_argument('--lr', type=float, default=3e-4)\n"
            "parser.add_argument('--epochs', type=int, default=2)\n"
            "parser.add_argument('--batch_size', type=int, default=16)\n"
            "args = parser.parse_args(args=[])\n"
            "args",
            "model = AutoModelForSequenceClassification.from_config(config)\n"
            "training_args = TrainingArguments(output_dir='argparse-run', eval_strategy='epoch', learning_rate=args.lr,\n"
            "                                  num_train_epochs=args.epochs, per_device_train_batch_size=args.batch_size,\n"
            "                                  save_strategy='no', report_to='none')\n"
            "trainer = Trainer(model=model, args=training_args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                  compute_metrics=compute_metrics)\n"
            "trainer.train()",
            "hp = argparse.Namespace(output_dir='namespace-run', eval_strategy='epoch', learning_rate=1e-3,\n"
            "                        num_train_epochs=4, per_device_train_batch_size=16, save_strategy='no',\n"
            "                        report_to='none')\n"
            "model = AutoModelForSequenceClassification.from_config(config)\n"
            "trainer = Trainer(model=model, args=TrainingArguments(**vars(hp)), train_dataset=train_ds,\n"
            "                  eval_dataset=eval_ds, compute_metrics=compute_metrics)\n"
            "trainer.train()",
        ],
    },
    {
        "name": "hf_save_then_continue",
        "style": "Colab: trainer.train(), trainer.save_model(OUT_DIR), then a second Trainer on "
                 "from_pretrained(OUT_DIR) continuing at a lower rate",
        "cells": [
            SETUP, ACCURACY,
            "OUT_DIR = './out'\n"
            "model = AutoModelForSequenceClassification.from_config(config)\n"
            "args = TrainingArguments('stage1', eval_strategy='epoch', learning_rate=5e-4, num_train_epochs=2,\n"
            "                         per_device_train_batch_size=16, save_strategy='no', report_to='none')\n"
            "trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                  compute_metrics=compute_metrics)\n"
            "trainer.train()\n"
            "trainer.save_model(OUT_DIR)",
            "%%md\nContinue from the saved model at a lower rate.",
            "model2 = AutoModelForSequenceClassification.from_pretrained(OUT_DIR)\n"
            "args2 = TrainingArguments('stage2', eval_strategy='epoch', learning_rate=1e-4, num_train_epochs=2,\n"
            "                          per_device_train_batch_size=16, save_strategy='no', report_to='none')\n"
            "trainer2 = Trainer(model=model2, args=args2, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                   compute_metrics=compute_metrics)\n"
            "trainer2.train()",
        ],
    },
    {
        "name": "hf_early_stopping_cb",
        "style": "HF: Trainer(..., callbacks=[EarlyStoppingCallback(...)]), load_best_model_at_end, "
                 "num_train_epochs=20 stopped after a few epochs",
        "cells": [
            SETUP, ACCURACY,
            "from transformers import EarlyStoppingCallback\n\n"
            "model = AutoModelForSequenceClassification.from_config(config)\n"
            "args = TrainingArguments('es-run', eval_strategy='epoch', save_strategy='epoch', logging_strategy='epoch',\n"
            "                         load_best_model_at_end=True, metric_for_best_model='eval_loss',\n"
            "                         greater_is_better=False, save_total_limit=1, learning_rate=1e-3,\n"
            "                         num_train_epochs=20, per_device_train_batch_size=16, report_to='none')\n"
            "trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                  compute_metrics=compute_metrics,\n"
            "                  callbacks=[EarlyStoppingCallback(early_stopping_patience=2, early_stopping_threshold=0.02)])\n"
            "trainer.train()",
        ],
    },
    {
        "name": "hf_fractional_epochs_logs",
        "style": "HF with disable_tqdm=True, logging_strategy='epoch', eval_strategy='epoch' and a fractional "
                 "num_train_epochs=2.5 (log dicts on stdout)",
        "cells": [
            SETUP, ACCURACY,
            "model = AutoModelForSequenceClassification.from_config(config)\n"
            "args = TrainingArguments('frac', eval_strategy='epoch', logging_strategy='epoch', disable_tqdm=True,\n"
            "                         learning_rate=5e-4, num_train_epochs=2.5, per_device_train_batch_size=16,\n"
            "                         save_strategy='no', report_to='none')\n"
            "trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
            "                  compute_metrics=compute_metrics)\n"
            "trainer.train()",
        ],
    },
]
HF.append({
    "name": "hf_fractional_epochs_table",
    "style": "HF notebook table (NotebookProgressCallback) with a fractional num_train_epochs=2.5, "
             "eval_strategy='epoch' (the last, partial epoch's evaluation is labelled Epoch 2 again)",
    "cells": [
        SETUP, ACCURACY,
        "model = AutoModelForSequenceClassification.from_config(config)\n"
        "args = TrainingArguments('frac-table', eval_strategy='epoch', logging_strategy='epoch',\n"
        "                         learning_rate=5e-4, num_train_epochs=2.5, per_device_train_batch_size=16,\n"
        "                         save_strategy='no', report_to='none')\n"
        "trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,\n"
        "                  compute_metrics=compute_metrics)\n"
        "trainer.train()",
    ],
    # log_history holds three evaluations (epochs 1.0, 2.0, 2.5); the table labels the 2.5 one "2" (int(epoch)) and
    # writes it over the 2.0 row, so the epoch-2.0 evaluation (global step 12) is not in the saved notebook
    "drop_rows": {1: [{"step": 12}]},
})

for _spec in HF:
    _spec.update(kernel="ml", hooks="hf")
