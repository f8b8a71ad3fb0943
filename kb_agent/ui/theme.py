"""Look and feel shared by the chat, the admin console and the sign-in page."""

from __future__ import annotations

ACCENT = "#1f5fbf"

CSS = """
.gradio-container { max-width: 1080px !important; width: 100% !important; margin: 0 auto !important; }
footer { display: none !important; }
.kb-header { display: flex; justify-content: space-between; align-items: center; padding: 10px 4px 14px;
  border-bottom: 1px solid #e3e8f0; margin-bottom: 6px; }
.kb-brand { display: flex; align-items: center; gap: 12px; }
.kb-logo { display: inline-flex; width: 40px; height: 40px; border-radius: 10px; background: #1f5fbf;
  color: #fff; font-weight: 700; font-size: 18px; align-items: center; justify-content: center; }
.kb-title { font-size: 20px; font-weight: 700; color: #14213d; }
.kb-sub { font-size: 13px; color: #5b6b82; }
.kb-user { display: flex; gap: 16px; align-items: center; font-size: 14px; color: #33415c; }
.kb-user a, .kb-signout button { color: #1f5fbf; text-decoration: none; font-weight: 600; }
.kb-signout { margin: 0; }
.kb-signout button { background: none; border: 0; padding: 0; cursor: pointer; font-size: 14px; }
.kb-role { background: #eef3fb; color: #1f5fbf; border-radius: 10px; padding: 1px 8px; font-size: 12px; margin-left: 4px; }
.kb-banner { background: #fff7e0; border: 1px solid #f0d48a; color: #6b4e00; border-radius: 8px;
  padding: 8px 12px; font-size: 13px; }
.kb-ok { background: #e9f7ef; border: 1px solid #a8dcbc; color: #1d6b3a; border-radius: 8px; padding: 8px 12px; }
.kb-notice { background: #fdecec; border: 1px solid #f3b8b8; color: #8a1f1f; border-radius: 8px; padding: 8px 12px; }
.kb-empty { text-align: center; color: #5b6b82; }
.kb-empty h3 { color: #14213d; margin-bottom: 4px; }
.kb-foot { text-align: center; font-size: 12px; color: #8391a7; margin-top: 4px; }
table.kb-card { border-collapse: collapse; margin: 2px 0 8px; font-size: 14px; min-width: 60%; }
table.kb-card th { background: #eef3fb; color: #1f5fbf; text-align: left; padding: 4px 10px; font-weight: 600; }
table.kb-card td { border-top: 1px solid #e3e8f0; padding: 4px 10px; }
#kb-chat button.example { border: 1px solid #d6e0ee; border-radius: 12px; background: #f7f9fc; }
#kb-chat button.example:hover { border-color: #1f5fbf; background: #eef3fb; }
.kb-stat { font-size: 14px; color: #33415c; }
.kb-side-title { font-size: 15px; font-weight: 700; color: #14213d; margin: 4px 0 6px; }
.kb-side-empty { font-size: 13px; color: #8391a7; }
.kb-note { font-size: 13px; margin-top: 6px; }
#kb-conversations { max-height: 55vh; overflow-y: auto; }
#kb-conversations > .wrap:not(.default) { flex-direction: column; flex-wrap: nowrap; }
#kb-conversations label { width: 100%; box-sizing: border-box; border-radius: 8px; font-size: 14px; }
#kb-conversations label span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
#kb-feedback-row { align-items: center; gap: 8px; flex-wrap: nowrap !important; }
#kb-feedback-row .kb-note { margin-top: 0; padding: 6px 10px; display: inline-block; white-space: nowrap; }
#kb-feedback-status { flex: 0 0 auto !important; width: auto !important; min-width: 0 !important; }
#kb-feedback-comment { flex: 1 1 auto !important; min-width: 120px !important; }
#kb-feedback-send { flex: 0 0 auto !important; }
"""

SIGNIN_CSS = """
body { margin: 0; font-family: -apple-system, "Segoe UI", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif;
  background: linear-gradient(160deg, #eef3fb 0%, #f8fafc 60%); min-height: 100vh; display: flex;
  align-items: center; justify-content: center; color: #14213d; }
.card { background: #fff; padding: 36px 40px 28px; border-radius: 14px; width: 360px;
  box-shadow: 0 10px 30px rgba(20, 33, 61, .10); }
.brand { display: flex; align-items: center; gap: 12px; margin-bottom: 22px; }
.logo { display: inline-flex; width: 44px; height: 44px; border-radius: 10px; background: #1f5fbf; color: #fff;
  font-weight: 700; font-size: 19px; align-items: center; justify-content: center; }
h1 { font-size: 21px; margin: 0; } .sub { font-size: 13px; color: #5b6b82; }
label { display: block; font-size: 13px; color: #33415c; margin: 14px 0 6px; font-weight: 600; }
input { width: 100%; box-sizing: border-box; padding: 10px 12px; border: 1px solid #cfd8e6; border-radius: 8px;
  font-size: 15px; } input:focus { outline: 2px solid #1f5fbf33; border-color: #1f5fbf; }
button { width: 100%; margin-top: 22px; padding: 11px; background: #1f5fbf; color: #fff; border: 0;
  border-radius: 8px; font-size: 15px; font-weight: 600; cursor: pointer; } button:hover { background: #174d9c; }
.error { background: #fdecec; border: 1px solid #f3b8b8; color: #8a1f1f; border-radius: 8px; padding: 8px 12px;
  font-size: 13px; margin-bottom: 6px; }
.info { background: #eef3fb; color: #1f5fbf; border-radius: 8px; padding: 8px 12px; font-size: 13px; }
.foot { margin-top: 18px; font-size: 12px; color: #8391a7; text-align: center; }
"""


def gradio_theme():
    import gradio as gr

    return gr.themes.Soft(primary_hue="blue", neutral_hue="slate",
                          font=["system-ui", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "sans-serif"],
                          font_mono=["ui-monospace", "monospace"])  # no web fonts: works offline
