"""Text handling shared by classification and alerts: one tokenisation, one term matcher."""
