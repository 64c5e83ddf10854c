// Leave empty fields out of a submitted search, so shared links stay short and readable.
document.addEventListener("formdata", (event) => {
  for (const [name, value] of [...event.formData.entries()]) {
    if (value === "") event.formData.delete(name);
  }
});
