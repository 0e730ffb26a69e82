"""Keras notebooks of the held-out corpus: keras.io examples (Keras 3 on torch), Keras 2 (tf-keras), Keras 3 on TF.

Spec fields as in ``specs_hf.py``.
"""

DATA3 = '''import os
os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import keras
from keras import layers

rng = np.random.default_rng(0)
x_train = rng.normal(size=(256, 20)).astype("float32")
y_train = (x_train[:, :3].sum(axis=1) > 0).astype("int64")
x_test = rng.normal(size=(64, 20)).astype("float32")
y_test = (x_test[:, :3].sum(axis=1) > 0).astype("int64")
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")
'''

IMAGES3 = '''import os
os.environ["KERAS_BACKEND"] = "torch"

import numpy as np
import keras
from keras import layers

num_classes = 3
input_shape = (16, 16, 1)
rng = np.random.default_rng(1)
x_train = rng.random((192, 16, 16, 1)).astype("float32")
y_train = (x_train[:, :8].mean(axis=(1, 2, 3)) * 6).astype("int64") % num_classes
y_train = keras.utils.to_categorical(y_train, num_classes)
print("x_train shape:", x_train.shape)
'''

DATA2 = '''import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

np.random.seed(0)
tf.random.set_seed(0)
X = np.random.normal(size=(300, 12)).astype("float32")
y = (X[:, 0] - X[:, 1] > 0).astype("float32")
X_train, X_val, y_train, y_val = X[:240], X[240:], y[:240], y[240:]
'''

MLP3 = '''def make_model(units=32):
    model = keras.Sequential([
        keras.Input(shape=(20,)),
        layers.Dense(units, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(2, activation="softmax"),
    ])
    return model
'''

KERAS3 = [
    {
        "name": "keras_io_mnist_convnet",
        "style": "keras.io examples/vision/mnist_convnet (Sequential CNN, verbose auto, validation_split, evaluate)",
        "cells": [
            "%%md\n# Simple MNIST convnet\n**Description:** A simple convnet.",
            IMAGES3,
            'model = keras.Sequential(\n    [\n        keras.Input(shape=input_shape),\n'
            '        layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),\n'
            '        layers.MaxPooling2D(pool_size=(2, 2)),\n        layers.Flatten(),\n'
            '        layers.Dropout(0.5),\n        layers.Dense(num_classes, activation="softmax"),\n    ]\n)\n'
            'model.summary()',
            'batch_size = 32\nepochs = 4\n\n'
            'model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])\n\n'
            'model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1)',
            'score = model.evaluate(x_train[:64], y_train[:64], verbose=0)\n'
            'print("Test loss:", score[0])\nprint("Test accuracy:", score[1])',
        ],
    },
    {
        "name": "keras_functional_verbose2",
        "style": "keras.io functional-API guide: fit(verbose=2) with validation_data, history plot data",
        "cells": [
            DATA3,
            'inputs = keras.Input(shape=(20,), name="features")\n'
            'x = layers.Dense(16, activation="relu", name="dense_1")(inputs)\n'
            'x = layers.Dense(16, activation="relu", name="dense_2")(x)\n'
            'outputs = layers.Dense(2, activation="softmax", name="predictions")(x)\n'
            'model = keras.Model(inputs=inputs, outputs=outputs, name="toy_mlp")\n'
            'model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),\n'
            '              loss=keras.losses.SparseCategoricalCrossentropy(),\n'
            '              metrics=[keras.metrics.SparseCategoricalAccuracy()])',
            'history = model.fit(x_train, y_train, batch_size=64, epochs=5, verbose=2,\n'
            '                    validation_data=(x_test, y_test))',
            "history.history.keys()",
            'results = model.evaluate(x_test, y_test, batch_size=32)\nprint("test loss, test acc:", results)',
        ],
    },
    {
        "name": "keras_early_stopping",
        "style": "keras.io / Kaggle: EarlyStopping(restore_best_weights=True, verbose=1) on a long fit",
        "cells": [
            DATA3, MLP3,
            'model = make_model(64)\n'
            'model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.05),\n'
            '              loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n'
            'early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2,\n'
            '                                               restore_best_weights=True, verbose=1)\n'
            'history = model.fit(x_train, y_train, epochs=40, batch_size=16, validation_split=0.25,\n'
            '                    callbacks=[early_stopping])',
        ],
    },
    {
        "name": "keras_model_checkpoint",
        "style": "keras.io: ModelCheckpoint(save_best_only=True, verbose=1) printing between epochs",
        "cells": [
            DATA3, MLP3,
            'model = make_model()\n'
            'model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3),\n'
            '              loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n'
            'callbacks = [keras.callbacks.ModelCheckpoint("best_model.keras", monitor="val_loss",\n'
            '                                             save_best_only=True, verbose=1)]\n'
            'model.fit(x_train, y_train, epochs=5, batch_size=32, validation_data=(x_test, y_test),\n'
            '          callbacks=callbacks)',
        ],
    },
    {
        "name": "keras_one_epoch_at_a_time",
        "style": "Kaggle notebooks calling fit(epochs=1) in a loop (no 'Epoch' header) and evaluate()",
        "cells": [
            DATA3, MLP3,
            'model = make_model()\n'
            'model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])',
            'for i in range(3):\n'
            '    model.fit(x_train, y_train, epochs=1, batch_size=32, validation_data=(x_test, y_test))\n'
            '    model.evaluate(x_test, y_test)',
        ],
    },
    {
        "name": "keras_applications_weights_none",
        "style": "keras.io image classification from scratch with keras.applications (weights=None)",
        "cells": [
            '%%md\nTrain a small MobileNetV2 from scratch (`weights=None`).',
            'import os\nos.environ["KERAS_BACKEND"] = "torch"\nimport numpy as np\nimport keras\n\n'
            'rng = np.random.default_rng(3)\nimages = rng.random((48, 32, 32, 3)).astype("float32")\n'
            'labels = (images[..., 0].mean(axis=(1, 2)) > 0.5).astype("int64")',
            'base = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None,\n'
            '                                      classes=2, classifier_activation="softmax")\n'
            'base.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),\n'
            '             loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n'
            'history = base.fit(images, labels, epochs=2, batch_size=16, validation_split=0.25)',
        ],
    },
    {
        "name": "keras_crashed_fit",
        "style": "a user's notebook: a fit that crashes after 'Epoch 1/100' (a buggy callback), then a new fit",
        "cells": [
            DATA3, MLP3,
            'class PrintValLoss(keras.callbacks.Callback):\n'
            '    def on_train_batch_end(self, batch, logs=None):\n'
            '        if batch % 4 == 3:\n'
            '            print(f"batch {batch}: val_loss {logs[\'val_loss\']:.4f}")\n\n'
            'model = make_model()\n'
            'model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n'
            'model.fit(x_train, y_train, epochs=100, batch_size=32, validation_data=(x_test, y_test),\n'
            '          callbacks=[PrintValLoss()])',
            '%%md\nOops: there is no `val_loss` during an epoch. Without the callback, and fewer epochs:',
            'model = make_model()\n'
            'model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n'
            'model.fit(x_train, y_train, epochs=3, batch_size=32, validation_data=(x_test, y_test))',
        ],
    },
    {
        "name": "keras_kfold_loop",
        "style": "Kaggle cross-validation: model rebuilt per fold inside a loop, verbose=2",
        "cells": [
            DATA3, MLP3,
            'n_folds = 3\nfold_ids = np.arange(len(x_train)) % n_folds\nscores = []\n'
            'for fold in range(n_folds):\n'
            '    print(f"===== fold {fold} =====")\n'
            '    trn, val = fold_ids != fold, fold_ids == fold\n'
            '    model = make_model(16)\n'
            '    model.compile(optimizer=keras.optimizers.Adam(learning_rate=2e-3),\n'
            '                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n'
            '    model.fit(x_train[trn], y_train[trn], validation_data=(x_train[val], y_train[val]),\n'
            '              epochs=3, batch_size=32, verbose=2)\n'
            '    scores.append(model.evaluate(x_train[val], y_train[val], verbose=0)[1])\n'
            'print(np.mean(scores))',
        ],
    },
]

KERAS3.append({
    "name": "keras_resume_initial_epoch",
    "style": "keras.io / Kaggle: training resumed with fit(initial_epoch=3) (printed Epoch 4/6), verbose=2",
    "cells": [
        DATA3, MLP3,
        'model = make_model()\n'
        'model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2),\n'
        '              loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n'
        'history = model.fit(x_train, y_train, epochs=3, validation_data=(x_test, y_test))',
        '%%md\nResume from where we stopped, with a smaller learning rate.',
        'model.optimizer.learning_rate = 1e-3\n'
        'history_2 = model.fit(x_train, y_train, epochs=6, initial_epoch=3, validation_data=(x_test, y_test),\n'
        '                      verbose=2)',
    ],
})

KERAS2 = [
    {
        "name": "tfkeras2_mlp_verbose1",
        "style": "TF 2 tutorials (from tensorflow import keras): Sequential, verbose=1 bars, validation_split",
        "cells": [
            DATA2,
            'model = keras.Sequential([\n    layers.Dense(32, activation="relu", input_shape=(12,)),\n'
            '    layers.Dense(1, activation="sigmoid")\n])\n'
            'model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy",\n'
            '              metrics=["accuracy"])\nmodel.summary()',
            'history = model.fit(X_train, y_train, epochs=4, batch_size=32, validation_split=0.2)',
            'model.evaluate(X_val, y_val)',
        ],
    },
    {
        "name": "tfkeras2_verbose2_auc",
        "style": "TF 2 structured-data tutorial: verbose=2 lines, AUC metric, validation_data",
        "cells": [
            DATA2,
            'model = tf.keras.Sequential([\n    tf.keras.layers.Dense(16, activation="relu"),\n'
            '    tf.keras.layers.Dense(1, activation="sigmoid"),\n])\n'
            'model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.1),\n'
            '              loss=tf.keras.losses.BinaryCrossentropy(),\n'
            '              metrics=[tf.keras.metrics.AUC(name="auc"), "accuracy"])\n'
            'history = model.fit(X_train, y_train, validation_data=(X_val, y_val), epochs=6, verbose=2)',
        ],
    },
    {
        "name": "tfkeras2_callbacks",
        "style": "Keras 2 Kaggle kernel: EarlyStopping + ModelCheckpoint(verbose=1) + evaluate",
        "cells": [
            DATA2,
            'def build():\n    m = keras.Sequential([layers.Dense(64, activation="relu", input_shape=(12,)),\n'
            '                          layers.Dense(64, activation="relu"),\n'
            '                          layers.Dense(1, activation="sigmoid")])\n'
            '    m.compile(optimizer=keras.optimizers.Adam(learning_rate=0.03), loss="binary_crossentropy",\n'
            '              metrics=["accuracy"])\n    return m\n\nmodel = build()',
            'callbacks = [\n    keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, verbose=1,\n'
            '                                  restore_best_weights=True),\n'
            '    keras.callbacks.ModelCheckpoint("model.h5", monitor="val_loss", save_best_only=True, verbose=1),\n]\n'
            'history = model.fit(X_train, y_train, validation_data=(X_val, y_val), epochs=30,\n'
            '                    batch_size=16, callbacks=callbacks)',
            'loss, acc = model.evaluate(X_val, y_val)\nprint(f"val acc {acc:.3f}")',
        ],
    },
    {
        "name": "tfkeras2_lr_loop",
        "style": "Keras 2 learning-rate comparison: a loop over rates, a model per rate, then fit(epochs=1) once more",
        "cells": [
            DATA2,
            'histories = {}\nfor lr in [0.001, 0.01, 0.1]:\n'
            '    model = keras.Sequential([layers.Dense(8, activation="relu", input_shape=(12,)),\n'
            '                              layers.Dense(1, activation="sigmoid")])\n'
            '    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="binary_crossentropy")\n'
            '    histories[lr] = model.fit(X_train, y_train, validation_data=(X_val, y_val), epochs=3)',
            '%%md\nOne more epoch for the last model.',
            'model.fit(X_train, y_train, epochs=1)',
        ],
    },
    {
        "name": "keras3_tf_backend",
        "style": "keras.io Keras 3 example on the TensorFlow backend (import keras), verbose=1 and 2",
        "cells": [
            'import os\nos.environ["KERAS_BACKEND"] = "tensorflow"\nimport numpy as np\nimport keras\n\n'
            'rng = np.random.default_rng(5)\nx = rng.normal(size=(200, 8)).astype("float32")\n'
            'y = (x[:, 0] > 0).astype("int64")',
            'model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),\n'
            '                          keras.layers.Dense(2, activation="softmax")])\n'
            'model.compile(optimizer=keras.optimizers.Adam(learning_rate=5e-3),\n'
            '              loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n'
            'model.fit(x, y, epochs=3, validation_split=0.2)',
            'model.fit(x, y, epochs=2, validation_split=0.2, verbose=2)',
        ],
    },
]

# Second batch (benchmarks/heldout/README.md, "The corpus"): styles the first batch did not cover, written
# and executed by a second person with the same machinery; see the README for the post-processing keys.
KERAS3 += [
    {
        "name": "keras_plateau_lr_var",
        "style": "Kaggle: LR/EPOCHS constants in their own cell, ReduceLROnPlateau(verbose=1), validation_split",
        "cells": [
            DATA3, MLP3,
            "LR = 0.05\nEPOCHS = 6",
            'model = make_model(32)\n'
            'model.compile(optimizer=keras.optimizers.Adam(learning_rate=LR),\n'
            '              loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n'
            'reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1,\n'
            '                                              min_lr=1e-4, verbose=1)\n'
            'history = model.fit(x_train, y_train, epochs=EPOCHS, batch_size=32, validation_split=0.2,\n'
            '                    callbacks=[reduce_lr])',
        ],
    },
    {
        "name": "keras_build_model_configs",
        "style": "Kaggle sweeps: def build_model(units, lr) compiling inside, called in a loop over configs",
        "cells": [
            DATA3,
            'def build_model(units, lr):\n'
            '    model = keras.Sequential([\n'
            '        keras.Input(shape=(20,)),\n'
            '        layers.Dense(units, activation="relu"),\n'
            '        layers.Dense(2, activation="softmax"),\n'
            '    ])\n'
            '    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),\n'
            '                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n'
            '    return model',
            'results = {}\n'
            'for units, lr in [(8, 1e-2), (32, 1e-3)]:\n'
            '    print(f"units={units} lr={lr}")\n'
            '    model = build_model(units, lr)\n'
            '    h = model.fit(x_train, y_train, validation_data=(x_test, y_test), epochs=2, batch_size=32,\n'
            '                  verbose=2)\n'
            '    results[(units, lr)] = h.history["val_accuracy"][-1]\n'
            'results',
        ],
    },
    {
        "name": "keras_default_optimizers",
        "style": "keras.io / tutorials: optimizers by string or built without a rate, a LearningRateScheduler",
        "cells": [
            DATA3, MLP3,
            'model_a = make_model()\n'
            'model_a.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n'
            'model_a.fit(x_train, y_train, epochs=2, validation_split=0.2, verbose=2)',
            'model_b = make_model()\n'
            'model_b.compile(optimizer=keras.optimizers.SGD(momentum=0.9), loss="sparse_categorical_crossentropy",\n'
            '                metrics=["accuracy"])\n'
            'model_b.fit(x_train, y_train, epochs=2, validation_split=0.2, verbose=2)',
            'model_c = make_model()\n'
            'model_c.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n'
            'model_c.fit(x_train, y_train, epochs=2, validation_split=0.2, verbose=2)',
            'def scheduler(epoch, lr):\n'
            '    return lr if epoch < 1 else lr * 0.5\n\n'
            'model_d = make_model()\n'
            'model_d.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy",\n'
            '                metrics=["accuracy"])\n'
            'model_d.fit(x_train, y_train, epochs=3, validation_split=0.2, verbose=2,\n'
            '            callbacks=[keras.callbacks.LearningRateScheduler(scheduler, verbose=1)])',
        ],
    },
    {
        "name": "keras_rerun_cell_lr",
        "style": "a user's notebook: LR lowered in a later cell, then the training cell above executed again",
        "cells": [
            DATA3, MLP3,
            "LR = 1e-2",
            'model = make_model()\n'
            'model.compile(optimizer=keras.optimizers.Adam(learning_rate=LR),\n'
            '              loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n'
            'history = model.fit(x_train, y_train, epochs=3, validation_data=(x_test, y_test), verbose=2)',
            "%%md\nToo noisy: lower the rate and run the training cell above again.",
            "LR = 1e-4",
        ],
        # the training cell (3) runs twice: once with LR = 1e-2, again after cell 5 set LR = 1e-4
        "order": [0, 1, 2, 3, 5, 3],
        "drop_runs": [1],  # the first execution's output was replaced by the second's
    },
    {
        "name": "keras_two_phase_finetune",
        "style": "keras.io transfer-learning guide shape: frozen backbone at LR, then unfrozen, recompiled at LR / 10, "
                 "fit(initial_epoch=...)",
        "cells": [
            DATA3,
            "LR = 1e-3",
            'backbone = keras.Sequential([keras.Input((20,)), layers.Dense(32, activation="relu"),\n'
            '                             layers.Dense(16, activation="relu")], name="backbone")\n'
            'model = keras.Sequential([backbone, layers.Dense(2, activation="softmax")], name="classifier")\n'
            'backbone.trainable = False\n'
            'model.compile(optimizer=keras.optimizers.Adam(LR), loss="sparse_categorical_crossentropy",\n'
            '              metrics=["accuracy"])\n'
            'model.fit(x_train, y_train, epochs=2, validation_data=(x_test, y_test), verbose=2)',
            "%%md\nFine-tune everything with a ten times smaller rate.",
            'LR = LR / 10\n'
            'backbone.trainable = True\n'
            'model.compile(optimizer=keras.optimizers.Adam(LR), loss="sparse_categorical_crossentropy",\n'
            '              metrics=["accuracy"])\n'
            'model.fit(x_train, y_train, epochs=4, initial_epoch=2, validation_data=(x_test, y_test), verbose=2)',
        ],
    },
]

KERAS2 += [
    {
        "name": "tfkeras2_adam_lr_kwarg",
        "style": "Keras 2 era code: Adam(lr=...) (the old keyword), and the legacy optimizer with lr=",
        "cells": [
            DATA2,
            'model = keras.Sequential([layers.Dense(16, activation="relu", input_shape=(12,)),\n'
            '                          layers.Dense(1, activation="sigmoid")])\n'
            'model.compile(optimizer=keras.optimizers.Adam(lr=0.005), loss="binary_crossentropy",\n'
            '              metrics=["accuracy"])\n'
            'history = model.fit(X_train, y_train, epochs=3, batch_size=32, validation_split=0.2)',
            '%%md\nSame model with the legacy optimizer.',
            'model2 = keras.Sequential([layers.Dense(16, activation="relu", input_shape=(12,)),\n'
            '                           layers.Dense(1, activation="sigmoid")])\n'
            'model2.compile(optimizer=keras.optimizers.legacy.Adam(lr=0.005), loss="binary_crossentropy",\n'
            '               metrics=["accuracy"])\n'
            'history2 = model2.fit(X_train, y_train, epochs=3, batch_size=32, validation_split=0.2)',
        ],
    },
]

# Third batch (README.md, "The corpus"): 15 notebooks written and executed by a third person with the same
# machinery (Keras 3 and tf-keras).
KERAS3 += [
    {
        "name": "keras_lr_loop_recompile",
        "style": "Kaggle: one model, model.summary(), then for lr in [...]: reset weights, recompile, fit",
        "cells": [
            DATA3, MLP3,
            "model = make_model(32)\nmodel.summary()\ninitial_weights = model.get_weights()",
            "for lr in [1e-2, 1e-3, 1e-4]:\n"
            "    model.set_weights(initial_weights)\n"
            "    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),\n"
            "                  loss='sparse_categorical_crossentropy', metrics=['accuracy'])\n"
            "    print(f'--- lr = {lr} ---')\n"
            "    model.fit(x_train, y_train, epochs=2, batch_size=32, validation_data=(x_test, y_test), verbose=2)",
        ],
    },
    {
        "name": "keras_kfold_earlystop",
        "style": "Kaggle CV: for fold in range(N_FOLDS) a new model, RMSprop, EarlyStopping(restore_best_weights=True, "
                 "verbose=1), epochs=30",
        "cells": [
            DATA3, MLP3,
            "N_FOLDS = 3\nEPOCHS = 30\nLR = 5e-2\nkeras.utils.set_random_seed(42)",
            "idx = np.random.default_rng(0).permutation(len(x_train))\n"
            "folds = np.array_split(idx, N_FOLDS)\n"
            "scores = []\n"
            "for fold in range(N_FOLDS):\n"
            "    val_idx = folds[fold]\n"
            "    trn_idx = np.concatenate([folds[j] for j in range(N_FOLDS) if j != fold])\n"
            "    model = make_model(16)\n"
            "    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=LR),\n"
            "                  loss='sparse_categorical_crossentropy', metrics=['accuracy'])\n"
            "    es = keras.callbacks.EarlyStopping(monitor='val_loss', patience=1, restore_best_weights=True,\n"
            "                                       verbose=1)\n"
            "    print(f'Fold {fold + 1}/{N_FOLDS}')\n"
            "    model.fit(x_train[trn_idx], y_train[trn_idx], validation_data=(x_train[val_idx], y_train[val_idx]),\n"
            "              epochs=EPOCHS, batch_size=32, callbacks=[es], verbose=2)\n"
            "    scores.append(model.evaluate(x_train[val_idx], y_train[val_idx], verbose=0)[1])\n"
            "print('CV accuracy:', np.mean(scores))",
        ],
    },
]

KERAS2 += [
    {
        "name": "tfkeras2_tfdata_classweight_df",
        "style": "TF 2 tutorials (imbalanced data): tf.data pipeline with .repeat(), steps_per_epoch, class_weight, "
                 "model.summary() before fit, pd.DataFrame(history.history) displayed after",
        "cells": [
            DATA2,
            "import pandas as pd\n\n"
            "BATCH_SIZE = 32\n"
            "train_ds = tf.data.Dataset.from_tensor_slices((X_train, y_train)).shuffle(240).batch(BATCH_SIZE).repeat()\n"
            "val_ds = tf.data.Dataset.from_tensor_slices((X_val, y_val)).batch(BATCH_SIZE)",
            "model = keras.Sequential([\n"
            "    layers.Dense(16, activation='relu', input_shape=(12,)),\n"
            "    layers.Dropout(0.3),\n"
            "    layers.Dense(1, activation='sigmoid'),\n"
            "], name='tab_mlp')\n"
            "model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3), loss='binary_crossentropy',\n"
            "              metrics=['accuracy', keras.metrics.AUC(name='auc')])\n"
            "model.summary()",
            "class_weight = {0: 1.0, 1: 2.0}\n"
            "history = model.fit(train_ds, epochs=4, steps_per_epoch=8, validation_data=val_ds,\n"
            "                    class_weight=class_weight)",
            "hist_df = pd.DataFrame(history.history)\nhist_df['epoch'] = history.epoch\nhist_df",
        ],
        # the tf venv has no pandas: a --no-deps overlay for this kernel only (README.md, "Kernel overlay")
        "pythonpath": ["pylib_tf"],
    },
]

# Fourth batch (README.md, "The corpus"): 17 notebooks written and executed by a fourth person with the same
# machinery (Keras 3 and tf-keras); moved here from explore4's specs_new.py unchanged but for the names noted.
KERAS3 += [
    {
        "name": "keras_two_models_one_cell",
        "style": "model comparison: two models compiled then fitted in the same cell (Adam 1e-2, AdamW 3e-3), then "
                 "`for name, m in [('a', model_a), ('b', model_b)]: m.fit(epochs=1)` continuing both",
        "cells": [
            DATA3, MLP3,
            "keras.utils.set_random_seed(1)\n"
            "model_a = make_model(16)\n"
            "model_b = keras.Sequential([keras.Input(shape=(20,)), layers.Dense(64, activation='relu'),\n"
            "                            layers.Dense(2, activation='softmax')], name='wide')\n"
            "model_a.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2), loss='sparse_categorical_crossentropy',\n"
            "                metrics=['accuracy'])\n"
            "model_b.compile(optimizer=keras.optimizers.AdamW(learning_rate=3e-3, weight_decay=1e-4),\n"
            "                loss='sparse_categorical_crossentropy', metrics=['accuracy'])\n"
            "print('== model_a ==')\n"
            "hist_a = model_a.fit(x_train, y_train, validation_data=(x_test, y_test), epochs=3, batch_size=32, verbose=2)\n"
            "print('== model_b ==')\n"
            "hist_b = model_b.fit(x_train, y_train, validation_data=(x_test, y_test), epochs=2, batch_size=32, verbose=2)",
            "for name, m in [('a', model_a), ('b', model_b)]:\n"
            "    print(f'-- one more epoch for {name}')\n"
            "    m.fit(x_train, y_train, validation_data=(x_test, y_test), epochs=1, batch_size=32, verbose=2)",
        ],
    },
]
KERAS2 += [
    {
        "name": "tfkeras2_build_hp_cosine",
        "style": "TF 2 / Kaggle: functional model from def build(hp) called with default_hp, CosineDecay schedule "
                 "as the learning rate, tf.data validation_data, ModelCheckpoint + CSVLogger, then "
                 "fit(initial_epoch=history.epoch[-1] + 1); saved by JupyterLab",
        "lab": True,
        "cells": [
            DATA2,
            "train_ds = tf.data.Dataset.from_tensor_slices((X_train, y_train)).shuffle(240, seed=0).batch(32)\n"
            "val_ds = tf.data.Dataset.from_tensor_slices((X_val, y_val)).batch(32)\n"
            "default_hp = {'units': 32, 'dropout': 0.2, 'lr': 1e-2}\n\n\n"
            "def build(hp):\n"
            "    inputs = keras.Input(shape=(12,))\n"
            "    x = layers.Dense(hp['units'], activation='relu')(inputs)\n"
            "    x = layers.Dropout(hp['dropout'])(x)\n"
            "    outputs = layers.Dense(1, activation='sigmoid')(x)\n"
            "    return keras.Model(inputs, outputs, name='mlp_hp')",
            "model = build(default_hp)\n"
            "lr_schedule = tf.keras.optimizers.schedules.CosineDecay(initial_learning_rate=default_hp['lr'],\n"
            "                                                        decay_steps=8 * 6)\n"
            "model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=lr_schedule),\n"
            "              loss='binary_crossentropy', metrics=['accuracy'])",
            "callbacks = [keras.callbacks.ModelCheckpoint('best_model.keras', monitor='val_loss', save_best_only=True),\n"
            "             keras.callbacks.CSVLogger('training_log.csv', append=True)]\n"
            "history = model.fit(train_ds, validation_data=val_ds, epochs=3, callbacks=callbacks)",
            "history2 = model.fit(train_ds, validation_data=val_ds, epochs=6, initial_epoch=history.epoch[-1] + 1,\n"
            "                     callbacks=callbacks)",
        ],
    },
]

for _spec in KERAS3:
    _spec.update(kernel="ml", hooks="keras")
for _spec in KERAS2:
    _spec.update(kernel="tf", hooks="keras,tfkeras")

KERAS = [*KERAS3, *KERAS2]
