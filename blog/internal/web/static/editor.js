// Enhances the editor's upload form, which htmx posts in place: shows the
// upload's progress, inserts the uploaded picture's markdown where the
// cursor was in the post's body, and takes a picture dropped on the body.
// Without JavaScript the same form opens the media library in a new tab.
(function () {
	"use strict";
	var caret = null; // [start, end] of the body's selection when it lost focus

	function body() { return document.getElementById("body"); }

	document.addEventListener("focusout", function (e) {
		if (e.target.id === "body") caret = [e.target.selectionStart, e.target.selectionEnd];
	});

	document.addEventListener("htmx:xhr:progress", function (e) {
		var form = e.target.closest && e.target.closest("form.upload");
		var bar = form && form.querySelector("progress");
		if (!bar || !e.detail.lengthComputable) return;
		bar.hidden = false;
		bar.value = Math.round(100 * e.detail.loaded / e.detail.total);
	});

	document.addEventListener("htmx:afterSettle", function () {
		var result = document.querySelector("form.upload [data-markdown]:not([data-inserted])");
		var b = body();
		if (!result || !b) return;
		result.setAttribute("data-inserted", "");
		var start = caret ? caret[0] : b.value.length, end = caret ? caret[1] : start;
		var before = b.value.slice(0, start), after = b.value.slice(end);
		var gap = before === "" || /\n\n$/.test(before) ? "" : /\n$/.test(before) ? "\n" : "\n\n";
		var text = gap + result.getAttribute("data-markdown") + "\n\n";
		b.value = before + text + after;
		caret = [start + text.length, start + text.length];
		b.dispatchEvent(new Event("input", { bubbles: true })); // refreshes the preview
	});

	// An answer htmx does not swap (a file over the size limit is a 413)
	// still says what happened, in the form.
	document.addEventListener("htmx:responseError", function (e) {
		var form = e.target.closest && e.target.closest("form.upload");
		if (!form) return;
		var msg = form.querySelector("p.upload-failed") || document.createElement("p");
		msg.className = "error upload-failed";
		msg.setAttribute("role", "alert");
		msg.textContent = e.detail.xhr.status === 413 ?
			"The file is larger than 20 MB. Export it smaller and upload it again." :
			"The upload failed (" + e.detail.xhr.status + "). Try again in a moment.";
		form.querySelector("button[type=submit]").before(msg);
		var bar = form.querySelector("progress");
		if (bar) bar.hidden = true;
	});

	document.addEventListener("dragover", function (e) {
		if (e.target.id === "body" && e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types, "Files") >= 0) e.preventDefault();
	});

	document.addEventListener("drop", function (e) {
		var input = document.querySelector("form.upload input[type=file]");
		if (e.target.id !== "body" || !input || !e.dataTransfer || e.dataTransfer.files.length === 0) return;
		e.preventDefault();
		caret = [e.target.selectionStart, e.target.selectionEnd];
		input.files = e.dataTransfer.files;
		var alt = input.form.querySelector("[name=alt]");
		if (alt.value.trim() !== "") htmx.trigger(input.form, "submit");
		else alt.focus(); // alt text first: it is required
	});
})();
