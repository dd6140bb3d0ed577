import streamlit as st

from pipeline.app.loaders import stack_health

st.title("Pipeline")
st.subheader("Servers")
for service in stack_health():
    state = "ready" if service["ready"] else "not reachable"
    where = "external" if not service["managed"] else f"pid {service['pid'] or '—'}"
    st.write(f"**{service['name']}** on port {service['port']} ({where}): {state}")
