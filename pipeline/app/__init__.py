"""Support code for the Streamlit app: cached loaders, kept out of the page bodies."""
