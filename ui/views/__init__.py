"""One module per page; each has `render()`, called by `ui.app` through `st.navigation`."""
