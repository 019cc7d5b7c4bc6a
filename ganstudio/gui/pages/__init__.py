"""The app's pages: one module per page, each a QWidget the main window lists in its sidebar."""
