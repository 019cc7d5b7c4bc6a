"""The main window: a sidebar of pages, menus with shortcuts, a status bar, drops, and a clean close.

Pages are plain QWidgets with `key`, `title` and `icon_name`; `add_page` is all a new page needs
(the Image to image page is one more call).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import (QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDragLeaveEvent, QDropEvent, QKeySequence,
                           QPalette)
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow,
                               QMessageBox, QSplitter, QStackedWidget, QVBoxLayout, QWidget)

from .. import APP_NAME, __version__
from ..core.paths import data_dir
from ..core.runs import RunFolder
from ..core.sinks import epochs_done, format_speed
from . import theme
from .pages.dataset_page import DatasetPage
from .pages.generate_page import GeneratePage
from .pages.image_to_image_page import ImageToImagePage
from .pages.runs_page import RunsPage
from .pages.train_page import TrainPage
from .resources import app_icon, icon
from .settings import AppSettings
from .widgets.common import label
from .widgets.drop_target import DropHighlight, accept_without_moving, local_paths
from .widgets.metrics_plot import MetricsPlot
from .workspace import Workspace, is_image_to_image_run

SHORTCUTS = (
    ("Ctrl+1 … Ctrl+5", "Dataset, Train, Generate, Image to image, Runs"),
    ("Ctrl+O", "Open a folder of pictures"),
    ("Ctrl+Shift+O", "Open picture files"),
    ("Ctrl+Enter", "Start training"),
    ("Ctrl+P", "Pause or resume training"),
    ("Ctrl+.", "Stop training (a checkpoint is saved)"),
    ("Ctrl+G", "Generate pictures by seed"),
    ("Ctrl+Shift+G", "Generate from random seeds"),
    ("S", "Star the selected pictures (Generate page)"),
    ("Ctrl+E", "Export the selected pictures as PNG"),
    ("F5", "Refresh the list of runs"),
    ("Esc", "Cancel checking a dataset"),
    ("Ctrl+Q", "Quit (training stops and is saved first)"),
)


STOPPING_WORDS = "Stopping… saving"
DROP_WORDS = "Drop to open: pictures, a folder or a zip on the Dataset page, a run folder on Runs"


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings, engine=None, workspace: Workspace | None = None):
        super().__init__()
        self.settings = settings
        workspace = workspace if workspace is not None else Workspace(settings, engine)
        self.workspace = workspace
        self.pages: dict[str, QWidget] = {}
        self._close_pending = False
        self._status_page = ""  # the page whose message the status bar shows ("": the app's own)
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setMinimumSize(960, 640)
        self._build()
        self.dataset_page = DatasetPage(workspace)
        self.train_page = TrainPage(workspace)
        self.generate_page = GeneratePage(workspace)
        self.image_to_image_page = ImageToImagePage(workspace)
        self.runs_page = RunsPage(workspace)
        for page in (self.dataset_page, self.train_page, self.generate_page, self.image_to_image_page, self.runs_page):
            self.add_page(page)
        self._build_menus()
        self._connect()
        self._restore()
        self._offer_to_continue()

    # -- layout ------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.sidebar = QWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setFixedWidth(188)
        column = QVBoxLayout(self.sidebar)
        column.setContentsMargins(0, 14, 0, 10)
        column.setSpacing(6)
        brand = QHBoxLayout()
        brand.setContentsMargins(16, 0, 10, 8)
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(QSize(28, 28)))
        title = QLabel(APP_NAME)
        title.setObjectName("appTitle")
        brand.addWidget(logo)
        brand.addWidget(title, 1)
        column.addLayout(brand)
        self.page_list = QListWidget()
        self.page_list.setObjectName("pageList")
        self.page_list.setIconSize(QSize(20, 20))
        self.page_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.page_list.currentRowChanged.connect(self._page_chosen)
        column.addWidget(self.page_list, 1)
        self.training_badge = label("", "muted", wrap=True)
        self.training_badge.setContentsMargins(16, 0, 12, 0)
        column.addWidget(self.training_badge)
        self.stack = QStackedWidget()
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.sidebar)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.drop_highlight = DropHighlight(self.stack, DROP_WORDS)
        self.status_text = QLabel("Ready.")
        self.statusBar().addWidget(self.status_text, 1)
        self.status_right = QLabel("")
        self.status_right.setProperty("role", "muted")
        self.statusBar().addPermanentWidget(self.status_right)
        self.torch_build = ""
        self.torch_label = QLabel("")
        self.torch_label.setProperty("role", "muted")
        self.torch_label.setToolTip("The PyTorch build GAN Studio trains with. A CPU-only machine needs no CUDA "
                                    "build: the README says how to install the much smaller CPU build.")
        self.statusBar().addPermanentWidget(self.torch_label)

    def add_page(self, page: QWidget) -> None:
        """Add a page to the sidebar: it needs `key`, `title` and `icon_name` attributes."""
        self.pages[page.key] = page
        item = QListWidgetItem(icon(page.icon_name, role=QPalette.ColorRole.WindowText), page.title)
        item.setData(Qt.ItemDataRole.UserRole, page.key)
        item.setSizeHint(QSize(160, 40))
        self.page_list.addItem(item)
        self.stack.addWidget(page)

    def show_page(self, key: str) -> None:
        for row in range(self.page_list.count()):
            if self.page_list.item(row).data(Qt.ItemDataRole.UserRole) == key:
                self.page_list.setCurrentRow(row)
                return

    def current_page_key(self) -> str:
        item = self.page_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else ""

    def _page_chosen(self, row: int) -> None:
        item = self.page_list.item(row)
        if item is not None:
            key = item.data(Qt.ItemDataRole.UserRole)
            self.stack.setCurrentWidget(self.pages[key])
            # A page's message does not outlive leaving it: the next page would seem to say it.
            if self._status_page and self._status_page != key:
                self._status_page = ""
                self.status_text.setText("")

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self._action(file_menu, "Open folder of pictures…", "Ctrl+O", self._open_folder, "folder")
        self._action(file_menu, "Open picture files…", "Ctrl+Shift+O", self._open_files, "images")
        self._action(file_menu, "Open zip of pictures…", None, self._open_zip, "archive")
        self._action(file_menu, "Open run folder…", None, self.runs_page.choose_folder, "runs")
        file_menu.addSeparator()
        self._action(file_menu, "Quit", QKeySequence.StandardKey.Quit, self.close)

        training = menu.addMenu("&Training")
        self.start_action = self._action(training, "Start training", "Ctrl+Return", self._start, "play")
        self.pause_action = self._action(training, "Pause or resume", "Ctrl+P",
                                         lambda: self.training_page().toggle_pause(), "pause")
        self.stop_action = self._action(training, "Stop and save", "Ctrl+.",
                                        lambda: self.training_page().stop(), "stop")
        self._action(training, "Cancel checking the dataset", "Esc", self.dataset_page.cancel_scan)

        generate = menu.addMenu("&Generate")
        self._action(generate, "Generate by seed", "Ctrl+G", self._generate, "generate")
        self._action(generate, "Generate from random seeds", "Ctrl+Shift+G", self._generate_random, "shuffle")
        self._action(generate, "Export selected as PNG…", "Ctrl+E", self._export, "export")

        view = menu.addMenu("&View")
        for number, key in enumerate(("dataset", "train", "generate", "image-to-image", "runs"), start=1):
            page = self.pages[key]
            self._action(view, page.title, f"Ctrl+{number}", lambda key=key: self.show_page(key), page.icon_name)
        self._action(view, "Refresh runs", "F5", self.runs_page.refresh, "refresh")
        view.addSeparator()
        appearance = view.addMenu("Appearance")
        self.theme_actions = QActionGroup(self)
        chosen = self.settings.value("view/theme", "system")
        for key, words in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            action = QAction(words, self, checkable=True)
            action.setChecked(key == chosen)
            action.triggered.connect(lambda checked=False, key=key: self.set_theme(key))
            self.theme_actions.addAction(action)
            appearance.addAction(action)

        help_menu = menu.addMenu("&Help")
        self._action(help_menu, "Keyboard shortcuts", "F1", self.show_shortcuts)
        self._action(help_menu, "Open the data folder", None, lambda: self.workspace.reveal(data_dir()), "folder")
        self._action(help_menu, "Open the log folder", None, lambda: self.workspace.reveal(data_dir() / "logs"))
        self._action(help_menu, f"About {APP_NAME}", None, self.show_about)

    def _action(self, menu, text: str, shortcut, slot, icon_name: str | None = None) -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda checked=False: slot())
        menu.addAction(action)
        self.addAction(action)
        return action

    # -- wiring ------------------------------------------------------------------------------------

    def _connect(self) -> None:
        workspace = self.workspace
        workspace.status_message.connect(self._say)
        workspace.page_requested.connect(self.show_page)
        workspace.run_opened.connect(self._show_run)
        workspace.generate_requested.connect(self._generate_from)
        workspace.resume_requested.connect(self._continue_run)
        workspace.torch_build_known.connect(self._torch_build_known)
        session = workspace.session
        session.state_changed.connect(self._session_state)
        session.steps_progressed.connect(self._steps)
        session.thread_ended.connect(self._session_ended)
        app = QApplication.instance()
        hints = app.styleHints() if app is not None else None
        if hints is not None:
            hints.colorSchemeChanged.connect(lambda scheme: self.set_theme(self.settings.value("view/theme", "system"),
                                                                           remember=False))

    def _say(self, text: str, timeout_ms: int, page: str = "") -> None:
        # Work a page finishes while another is on show is named, so it does not read as news of this page.
        if page and page != self.current_page_key() and page in self.pages:
            text = f"{self.pages[page].title}: {text}"
        self._status_page = page
        self.status_text.setText(text)
        if timeout_ms:
            self.statusBar().clearMessage()

    def _torch_build_known(self, words: str) -> None:
        self.torch_build = words
        self.torch_label.setText(words)

    def _session_state(self, state: str) -> None:
        busy = state != "idle"
        self.dataset_page.set_locked(busy, "The dataset is locked while it trains." if busy else "")
        self.runs_page._enable_actions(self.runs_page.details is not None)
        words = {"preparing": "Preparing…", "training": "Training", "paused": "Paused", "stopping": STOPPING_WORDS}
        self.training_badge.setText(f"● {words[state]}" if busy else "")
        if not busy:
            self.status_right.setText("")

    def _steps(self, steps) -> None:
        if self.workspace.session.state == "stopping":
            return  # the last steps before the checkpoint; the badge says it is saving
        last = steps[-1]
        self.status_right.setText(f"{epochs_done(last.epoch)} · step {last.step:,} · "
                                  f"{format_speed(last.images_per_second)}")
        self.training_badge.setText(f"● Training · {epochs_done(last.epoch)}")

    def _session_ended(self) -> None:
        self._session_state("idle")
        if self._close_pending:
            self.close()

    def _show_run(self, folder: str) -> None:
        self.runs_page.show_run(folder)
        self.show_page("runs")

    def training_page(self):
        """The page that shows the current (or last) run: runs are shown where they were started."""
        return self.image_to_image_page if self.workspace.session.owner == self.image_to_image_page.key \
            else self.train_page

    def _generate_from(self, folder: str) -> None:
        if is_image_to_image_run(folder):
            self.image_to_image_page.show_convert(folder)
            self.show_page("image-to-image")
            return
        self.generate_page.open_run(folder)
        self.show_page("generate")

    def _continue_run(self, folder: str, targets: dict) -> None:
        page = self.image_to_image_page if is_image_to_image_run(folder) else self.train_page
        self.show_page(page.key)
        page.continue_run(folder, targets)

    def _start(self) -> None:
        if self.current_page_key() == "image-to-image":
            self.image_to_image_page.start()
            return
        self.show_page("train")
        self.train_page.start()

    def _open_folder(self) -> None:
        self.show_page("dataset")
        self.dataset_page.choose_folder()

    def _open_files(self) -> None:
        self.show_page("dataset")
        self.dataset_page.choose_files()

    def _open_zip(self) -> None:
        self.show_page("dataset")
        self.dataset_page.choose_zip()

    def _generate(self) -> None:
        self.show_page("generate")
        self.generate_page.generate_by_seed()

    def _generate_random(self) -> None:
        self.show_page("generate")
        self.generate_page.generate_random()

    def _export(self) -> None:
        if self.current_page_key() == "generate":
            self.generate_page.export_pngs()

    def set_theme(self, choice: str, remember: bool = True) -> None:
        app = QApplication.instance()
        if app is None:
            return
        if remember:
            self.settings.set_value("view/theme", choice)
        theme.apply(app, choice)
        for plot in self.findChildren(MetricsPlot):
            plot.apply_theme()
        for page in self.pages.values():
            page.update()

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td style='padding:3px 18px 3px 0'><b>{keys}</b></td><td>{what}</td></tr>"
                       for keys, what in SHORTCUTS)
        box = QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setText(f"<table>{rows}</table>")
        box.open()

    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}",
                          f"<b>{APP_NAME} {__version__}</b><p>Train generative adversarial networks on your own "
                          f"pictures, on your own computer, and watch them learn.</p>"
                          f"<p>Runs are kept in {data_dir() / 'runs'}.</p>"
                          f"<p>Training with {self.torch_build or 'torch (still being looked up)'}.</p>")

    # -- drops -------------------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_paths(event.mimeData()) and accept_without_moving(event):
            self.dataset_page.set_dragging(True)
            self.drop_highlight.set_shown(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if local_paths(event.mimeData()):
            accept_without_moving(event)
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.dataset_page.set_dragging(False)
        self.drop_highlight.set_shown(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self.dataset_page.set_dragging(False)
        self.drop_highlight.set_shown(False)
        paths = local_paths(event.mimeData())
        if not paths or not accept_without_moving(event):
            event.ignore()
            return
        self.open_paths(paths)

    def open_paths(self, paths: list[str]) -> None:
        """A run folder opens on the Runs page; anything else is a dataset for the Dataset page."""
        if len(paths) == 1 and RunFolder(paths[0]).is_run():
            self.runs_page.open_folder(paths[0])
            self.show_page("runs")
            return
        self.show_page("dataset")
        self.dataset_page.open_paths(paths)

    # -- memory ------------------------------------------------------------------------------------

    def _restore(self) -> None:
        geometry = self.settings.bytes_value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1360, 860)
        for key, splitter in self._splitters().items():
            state = self.settings.bytes_value(f"splitters/{key}")
            if state is not None:
                splitter.restoreState(state)
        self.show_page(self.settings.value("window/page", "train"))

    def _splitters(self) -> dict[str, QSplitter]:
        return {"dataset": self.dataset_page.splitter, "train": self.train_page.splitter,
                "train_live": self.train_page.live_splitter, "generate": self.generate_page.splitter,
                "image_to_image": self.image_to_image_page.splitter,
                "image_to_image_live": self.image_to_image_page.live_splitter,
                "image_to_image_convert": self.image_to_image_page.converter.splitter,
                "runs": self.runs_page.splitter}

    def save_layout(self) -> None:
        self.settings.set_bytes_value("window/geometry", self.saveGeometry())
        for key, splitter in self._splitters().items():
            self.settings.set_bytes_value(f"splitters/{key}", splitter.saveState())
        self.settings.set_value("window/page", self.current_page_key())
        self.train_page.save_settings()
        self.image_to_image_page.save_settings()
        self.settings.sync()

    def _offer_to_continue(self) -> None:
        """If the last session closed (or crashed) while training, offer to carry on from its checkpoint."""
        run_dir = self.settings.value("session/active_run", "")
        if not run_dir:
            return
        folder = RunFolder(run_dir)
        if not folder.is_run() or not folder.checkpoints():
            self.settings.remove("session/active_run")
            return

        page = self.image_to_image_page if is_image_to_image_run(str(folder.path)) else self.train_page

        def carry_on() -> None:
            page.banner.hide()
            page.continue_run(str(folder.path))

        def dismiss() -> None:
            self.settings.remove("session/active_run")
            page.banner.hide()

        step = folder.checkpoints()[-1][0]
        if page is self.image_to_image_page:
            self.show_page(page.key)
        page.banner.show_message(
            f"Training of {folder.name} stopped when GAN Studio closed; it was saved at step {step:,}. "
            "Continue where it left off?", "info", [("Continue training", carry_on), ("Not now", dismiss)])

    def closeEvent(self, event: QCloseEvent) -> None:
        session = self.workspace.session
        if session.busy:
            # Stop at the next step and let the engine save a checkpoint; close once its thread has ended.
            self.workspace.closing = True
            if not self._close_pending:
                self._close_pending = True
                page = self.training_page()
                page.stop()
                # The window stays until the checkpoint is written, saying so: one that vanished at once
                # while the process saved for 20 s more read as a crash, or as a run lost.
                self.setWindowTitle(STOPPING_WORDS)
                page.progress_text.setText(f"{STOPPING_WORDS} a checkpoint, then GAN Studio closes.")
                self._say(f"{STOPPING_WORDS} a checkpoint, then GAN Studio closes.", 0)
                self.training_badge.setText(f"● {STOPPING_WORDS}")
                self.centralWidget().setEnabled(False)
                self.menuBar().setEnabled(False)
            event.ignore()
            return
        self.save_layout()
        self.workspace.shutdown()
        event.accept()
