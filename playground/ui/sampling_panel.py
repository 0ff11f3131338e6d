"""The sampling panel: a slider and a spin box for every sampler parameter, presets, and a
one-sentence tooltip on each that teaches what it does. Every change is emitted at once; the
window writes it to the engine's LiveParams, so it applies to the very next token."""

from __future__ import annotations

import json

from PySide6.QtCore import QT_TRANSLATE_NOOP, QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..sampling_params import PRESETS, SamplingParams
from ..texts import translate

# name, label, minimum, maximum, step, decimals, tooltip
FLOATS = [
    ("temperature", QT_TRANSLATE_NOOP("SamplingPanel", "Temperature"), 0.0, 2.0, 0.05, 2,
     QT_TRANSLATE_NOOP("SamplingPanel", "Divides the logits before softmax: below 1 sharpens the distribution, "
                                        "above 1 flattens it; 0 always takes the most likely token.")),
    ("top_p", QT_TRANSLATE_NOOP("SamplingPanel", "Top-p"), 0.0, 1.0, 0.01, 2,
     QT_TRANSLATE_NOOP("SamplingPanel", "Keeps the smallest set of most likely tokens whose probabilities add "
                                        "up to p (nucleus sampling); 1 turns it off.")),
    ("min_p", QT_TRANSLATE_NOOP("SamplingPanel", "Min-p"), 0.0, 1.0, 0.01, 2,
     QT_TRANSLATE_NOOP("SamplingPanel", "Drops tokens less likely than min-p times the most likely token's "
                                        "probability; 0 turns it off.")),
    ("typical_p", QT_TRANSLATE_NOOP("SamplingPanel", "Typical-p"), 0.0, 1.0, 0.01, 2,
     QT_TRANSLATE_NOOP("SamplingPanel", "Keeps tokens whose surprise is closest to the average surprise (the "
                                        "entropy), up to mass p; 1 turns it off.")),
    ("repeat_penalty", QT_TRANSLATE_NOOP("SamplingPanel", "Repetition penalty"), 0.5, 2.0, 0.01, 2,
     QT_TRANSLATE_NOOP("SamplingPanel", "Makes tokens that appeared recently less likely (above 1) or more "
                                        "likely (below 1).")),
    ("presence_penalty", QT_TRANSLATE_NOOP("SamplingPanel", "Presence penalty"), -2.0, 2.0, 0.05, 2,
     QT_TRANSLATE_NOOP("SamplingPanel", "Subtracts this from the logit of every token that has appeared at all, "
                                        "nudging the model to new words.")),
    ("frequency_penalty", QT_TRANSLATE_NOOP("SamplingPanel", "Frequency penalty"), -2.0, 2.0, 0.05, 2,
     QT_TRANSLATE_NOOP("SamplingPanel", "Subtracts this once per earlier occurrence, so often-repeated tokens "
                                        "are pushed down the most.")),
]
INTS = [
    ("top_k", QT_TRANSLATE_NOOP("SamplingPanel", "Top-k"), 0, 200,
     QT_TRANSLATE_NOOP("SamplingPanel", "Keeps only the k most likely tokens before sampling; 0 turns it off.")),
    ("repeat_last_n", QT_TRANSLATE_NOOP("SamplingPanel", "Penalty window"), 0, 2048,
     QT_TRANSLATE_NOOP("SamplingPanel", "How many recent tokens the penalties look at.")),
    ("max_tokens", QT_TRANSLATE_NOOP("SamplingPanel", "Max new tokens"), 1, 8192,
     QT_TRANSLATE_NOOP("SamplingPanel", "The reply stops after this many tokens.")),
]
SCALE = 100  # slider steps per unit
DEFAULT_PRESET = "Balanced"  # SamplingParams()'s own values
LABELS = {name: label for name, label, *_ in FLOATS + INTS} | {
    "seed": QT_TRANSLATE_NOOP("SamplingPanel", "Seed"), "stop": QT_TRANSLATE_NOOP("SamplingPanel", "Stop strings")}
# the built-in presets' names as shown (the key stays the English name: settings and files keep it)
PRESET_TITLES = {
    "Precise": QT_TRANSLATE_NOOP("SamplingPanel", "Precise"), "Balanced": QT_TRANSLATE_NOOP("SamplingPanel", "Balanced"),
    "Creative": QT_TRANSLATE_NOOP("SamplingPanel", "Creative"), "Greedy": QT_TRANSLATE_NOOP("SamplingPanel", "Greedy")}


def preset_title(name: str) -> str:
    """A preset's name in the interface's language (a name of another app's, or the user's, as it is)."""
    return translate("SamplingPanel", PRESET_TITLES[name]) if name in PRESET_TITLES else name


def _shown(v) -> str:
    if v is None:
        return translate("SamplingPanel", "random")
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, tuple):
        return " | ".join(v) or translate("SamplingPanel", "none")
    return str(v)


class SamplingPanel(QWidget):
    paramsChanged = Signal(object)  # SamplingParams

    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.settings = settings
        self._updating = False
        self._kept = SamplingParams()  # fields without a control here (logit_bias, order) keep their values
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.presets = QComboBox()
        self.presets.setToolTip(self.tr("Named sets of parameters: a few of ours and the defaults of other apps."))
        self.presets.activated.connect(self._on_preset_chosen)
        row.addWidget(self.presets, 1)
        self.save_btn = QPushButton(self.tr("Save…"))
        self.save_btn.setToolTip(self.tr("Save the current parameters as a preset of your own."))
        self.save_btn.clicked.connect(self._save_preset)
        self.delete_btn = QPushButton(self.tr("Delete"))
        self.delete_btn.setToolTip(self.tr("Delete the selected preset of your own."))
        self.delete_btn.clicked.connect(self._delete_preset)
        for b in (self.save_btn, self.delete_btn):
            row.addWidget(b)
        lay.addLayout(row)
        # what differs from the chosen preset, and one click back to it: a live change made while a
        # reply was written stays in force for the next replies, and this line keeps it in sight
        self.preset_name, self.preset_params = DEFAULT_PRESET, PRESETS[DEFAULT_PRESET]
        changed = QHBoxLayout()
        self.changed = QLabel()
        self.changed.setWordWrap(True)
        self.changed.setObjectName("changedFromPreset")
        changed.addWidget(self.changed, 1)
        self.reset_btn = QPushButton(self.tr("Reset"))
        self.reset_btn.setToolTip(self.tr("Back to the chosen preset's values."))
        self.reset_btn.clicked.connect(self.reset_to_preset)
        changed.addWidget(self.reset_btn)
        lay.addLayout(changed)
        form = self.form = QFormLayout()
        self._rows: dict[str, QHBoxLayout] = {}
        self.sliders: dict[str, QSlider] = {}
        self.spins: dict[str, QDoubleSpinBox | QSpinBox] = {}
        for name, label, lo, hi, step, dec, tip in FLOATS:
            spin = QDoubleSpinBox()
            spin.setRange(lo, hi)
            spin.setSingleStep(step)
            spin.setDecimals(dec)
            self._add_row(form, name, label, tip, spin, int(lo * SCALE), int(hi * SCALE), SCALE)
        for name, label, lo, hi, tip in INTS:
            spin = QSpinBox()
            spin.setRange(lo, hi)
            self._add_row(form, name, label, tip, spin, lo, hi, 1)
        seed_row = QHBoxLayout()
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed_fixed = QCheckBox(self.tr("fixed"))
        tip = self.tr("The random seed: fix it and the same prompt and parameters give the same reply every time.")
        self.seed.setToolTip(tip)
        self.seed_fixed.setToolTip(tip)
        self.seed.valueChanged.connect(self._emit)
        self.seed_fixed.toggled.connect(self._emit)
        seed_row.addWidget(self.seed_fixed)
        seed_row.addWidget(self.seed, 1)
        form.addRow(self.tr("Seed"), seed_row)
        self._rows["seed"] = seed_row
        self.stop = QLineEdit()
        self.stop.setPlaceholderText(self.tr("e.g. \\n\\n | THE END"))
        self.stop.setToolTip(self.tr("Stop when any of these strings appears (separate several with |; \\n is a newline)."))
        self.stop.editingFinished.connect(self._emit)
        form.addRow(self.tr("Stop strings"), self.stop)
        self._rows["stop"] = self.stop
        lay.addLayout(form)
        lay.addStretch(1)
        self._reload_presets()
        stored = self._stored_preset()
        if stored is not None:
            self.preset_name, self.preset_params = stored
        self._show_preset_name()
        self.set_params(self._stored_params() or self.preset_params)

    def _add_row(self, form, name, label, tip, spin, lo, hi, scale) -> None:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(lo, hi)
        label, tip = self.tr(label), self.tr(tip)
        slider.setToolTip(tip)
        spin.setToolTip(tip)
        slider.valueChanged.connect(lambda v, s=spin, k=scale: self._from_slider(s, v / k if k > 1 else v))
        spin.valueChanged.connect(lambda v, sl=slider, k=scale: self._from_spin(sl, v, k))
        row = QHBoxLayout()
        spin.setFixedWidth(spin.fontMetrics().horizontalAdvance("0000.00") + 36)  # the boxes line up
        row.addWidget(slider, 3)
        row.addWidget(spin, 0)
        form.addRow(label, row)
        form.labelForField(row).setToolTip(tip) if form.labelForField(row) else None
        self.sliders[name], self.spins[name] = slider, spin
        self._rows[name] = row

    def _from_slider(self, spin, value) -> None:
        if spin.value() != value:
            spin.setValue(value)

    def _from_spin(self, slider, value, scale) -> None:
        v = int(round(value * scale))
        if slider.value() != v:
            slider.blockSignals(True)
            slider.setValue(v)
            slider.blockSignals(False)
        self._emit()

    # -- parameters -------------------------------------------------------------------
    def params(self) -> SamplingParams:
        values = {name: self.spins[name].value() for name, *_ in FLOATS}
        values.update({name: int(self.spins[name].value()) for name, *_ in INTS})
        stops = tuple(s.strip().replace("\\n", "\n") for s in self.stop.text().split("|") if s.strip())
        return self._kept.replace(seed=self.seed.value() if self.seed_fixed.isChecked() else None, stop=stops, **values)

    def set_params(self, p: SamplingParams) -> None:
        self._kept = p
        self._updating = True
        try:
            for name in self.spins:
                self.spins[name].setValue(getattr(p, name))
            self.seed_fixed.setChecked(p.seed is not None)
            self.seed.setValue(p.seed or 0)
            self.stop.setText(" | ".join(s.replace("\n", "\\n") for s in p.stop))
        finally:
            self._updating = False
        self._emit()

    def set_value(self, name: str, value) -> None:
        """Move one control, as a user dragging its slider would."""
        self.spins[name].setValue(value)

    def _emit(self, *_) -> None:
        if self._updating:
            return
        p = self.params()
        if self.settings is not None:
            self.settings.setValue("sampling/current", json.dumps(p.to_dict()))
        self._show_changes(p)
        self.paramsChanged.emit(p)

    # -- the chosen preset -----------------------------------------------------------------
    def changes(self, p: SamplingParams | None = None) -> list[str]:
        """The controls whose values differ from the chosen preset's."""
        p = p or self.params()
        return [name for name in (*self.spins, "seed", "stop") if getattr(p, name) != getattr(self.preset_params, name)]

    def _show_changes(self, p: SamplingParams) -> None:
        names = self.changes(p)
        bits = [f"{self.tr(LABELS[n])} {_shown(getattr(self.preset_params, n))} → {_shown(getattr(p, n))}" for n in names]
        if bits:
            self.changed.setText(self.tr('<b>Changed from {preset_name}:</b> ').format(preset_name=preset_title(self.preset_name)) + "; ".join(bits))
        else:
            self.changed.setText(self.tr("The {preset_name} preset's values.").format(preset_name=preset_title(self.preset_name)))
        self.reset_btn.setEnabled(bool(names))
        self.reset_btn.setText(self.tr('Reset to {preset_name}').format(preset_name=preset_title(self.preset_name)))
        for name in (*self.spins, "seed", "stop"):  # the changed rows' labels in bold
            label = self.form.labelForField(self._rows[name])
            if label is not None:
                f = label.font()
                f.setBold(name in names)
                label.setFont(f)

    def choose_preset(self, name: str, params: SamplingParams) -> None:
        """Take a preset's values; later changes are shown against it."""
        self.preset_name, self.preset_params = name, params
        self._show_preset_name()
        if self.settings is not None:
            self.settings.setValue("sampling/preset", json.dumps([name, params.to_dict()]))
        self.set_params(params)

    def reset_to_preset(self) -> None:
        self.set_params(self.preset_params.replace(logit_bias=self._kept.logit_bias, order=self._kept.order))

    # -- presets ------------------------------------------------------------------------
    def _user_presets(self) -> dict[str, dict]:
        if self.settings is None:
            return {}
        try:
            return json.loads(self.settings.value("sampling/presets", "{}") or "{}")
        except (TypeError, ValueError):
            return {}

    def _stored_params(self) -> SamplingParams | None:
        if self.settings is None:
            return None
        try:
            d = json.loads(self.settings.value("sampling/current", "") or "null")
            return SamplingParams.from_dict(d) if d else None
        except (TypeError, ValueError):
            return None

    def _show_preset_name(self) -> None:
        """The preset list shows the chosen preset (its first entry is only a prompt)."""
        for i in range(self.presets.count()):
            data = self.presets.itemData(i)
            if data and data[1] == self.preset_name:
                self.presets.setCurrentIndex(i)
                return

    def _stored_preset(self) -> tuple[str, SamplingParams] | None:
        if self.settings is None:
            return None
        try:
            name, d = json.loads(self.settings.value("sampling/preset", "") or "null") or (None, None)
            return (str(name), SamplingParams.from_dict(d)) if name else None
        except (TypeError, ValueError):
            return None

    def _reload_presets(self) -> None:
        self.presets.clear()
        self.presets.addItem(self.tr("Presets…"))
        for name in PRESETS:
            self.presets.addItem(preset_title(name), ("builtin", name))
        for name in self._user_presets():
            self.presets.addItem(f"★ {name}", ("user", name))
        self._show_preset_name()

    def _on_preset_chosen(self, index: int) -> None:
        data = self.presets.itemData(index)
        if not data:
            return
        kind, name = data
        try:
            p = PRESETS[name] if kind == "builtin" else SamplingParams.from_dict(self._user_presets().get(name, {}))
        except ValueError:
            return
        self.choose_preset(name, p)

    def save_preset(self, name: str) -> None:
        if self.settings is None or not name.strip():
            return
        presets = self._user_presets()
        presets[name.strip()] = self.params().to_dict()
        self.settings.setValue("sampling/presets", json.dumps(presets))
        self._reload_presets()

    def _save_preset(self) -> None:
        name, ok = QInputDialog.getText(self, self.tr("Save preset"), self.tr("Name:"))
        if ok:
            self.save_preset(name)

    def _delete_preset(self) -> None:
        data = self.presets.currentData()
        if not data or data[0] != "user" or self.settings is None:
            return
        presets = self._user_presets()
        presets.pop(data[1], None)
        self.settings.setValue("sampling/presets", json.dumps(presets))
        self._reload_presets()

