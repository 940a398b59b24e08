// The admin login: posts the key as JSON, the service answers with a session cookie.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = form.elements.key.value;
    const answer = await fetch("/login", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ key: key }),
    });
    if (answer.ok) {
      window.location.assign(form.dataset.next || "/dashboard");
    } else {
      form.querySelector(".error").textContent = "That is not the admin key.";
    }
  });
});
