// The resource calendar: one column per room. Every change is sent to the
// server, which checks the scheduling rules; a refusal is shown and the
// event snaps back. Times are site-local wall times (no zone) both ways.
// The grid spans the rooms' opening hours (the whole day when one is open
// past midnight); closed and blocked time come as grey background events.
// Others' bookings show by refetching every 15 s (not while dragging);
// clicking a booking opens its page (reschedule, unbook, no-show, cancel).
(function () {
  "use strict";
  const el = document.getElementById("calendar");
  const refusal = document.getElementById("calendar-refusal");
  const pad = (n) => String(n).padStart(2, "0");
  const REFRESH_MS = 15000;
  let dragging = false;
  const wallTime = (d) =>
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:00`;

  function escapeHtml(text) {
    const span = document.createElement("span");
    span.textContent = text;
    return span.innerHTML;
  }

  function showRefusal(reason) {
    refusal.textContent = reason;
    refusal.classList.remove("d-none");
  }

  async function send(url, body) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": el.dataset.csrf},
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({reason: `The server answered ${response.status}.`}));
    if (!response.ok) throw new Error(answer.reason || `The server answered ${response.status}.`);
    refusal.classList.add("d-none");
    return answer;
  }

  async function change(url, body, revert) {
    try {
      await send(url, body);
    } catch (error) {
      revert();
      showRefusal(error.message);
    }
  }

  function refreshList() {
    if (window.htmx) window.htmx.trigger(document.body, "risBooked");
  }

  function onEventDrop(info) {
    const room = info.newResource ? info.newResource.id : undefined;
    const url = el.dataset.moveUrl.replace("ID", info.event.id);
    change(url, {start: wallTime(info.event.start), room: room}, info.revert);
  }

  function onEventResize(info) {
    const minutes = Math.round((info.event.end - info.event.start) / 60000);
    const url = el.dataset.resizeUrl.replace("ID", info.event.id);
    change(url, {duration_minutes: minutes}, info.revert);
  }

  function createCalendar(resources) {
    return EventCalendar.create(el, {
      view: "resourceTimeGridDay",
      date: el.dataset.day,
      headerToolbar: {start: "prev,next today", center: "title", end: "resourceTimeGridDay,resourceTimeGridWeek"},
      resources: resources,
      eventSources: [{url: el.dataset.eventsUrl, method: "GET"}],
      slotMinTime: el.dataset.slotMin || "00:00", slotMaxTime: el.dataset.slotMax || "24:00",
      slotDuration: "00:15", scrollTime: el.dataset.scrollTime || "07:00",
      allDaySlot: false, editable: true, eventStartEditable: true, eventDurationEditable: true,
      nowIndicator: true, height: "75vh",
      slotLabelFormat: {hour: "2-digit", minute: "2-digit", hour12: false},
      eventTimeFormat: {hour: "2-digit", minute: "2-digit", hour12: false},
      eventContent: (info) => ({html: `<span class="ris-event">${info.timeText} ${escapeHtml(info.event.title)}</span>`}),
      eventDrop: (info) => { dragging = false; onEventDrop(info); },
      eventResize: (info) => { dragging = false; onEventResize(info); },
      eventDragStart: () => { dragging = true; },
      eventResizeStart: () => { dragging = true; },
      eventClick: (info) => {
        const url = info.event.extendedProps && info.event.extendedProps.url;
        if (url) window.location.href = url;
      },
    });
  }

  function enableDropOfOrders(calendar) {
    el.addEventListener("dragover", (event) => event.preventDefault());
    el.addEventListener("drop", async (event) => {
      event.preventDefault();
      const step = event.dataTransfer.getData("text/plain");
      const slot = calendar.dateFromPoint(event.clientX, event.clientY);
      if (!step || !slot || !slot.resource) return;
      const item = document.querySelector(`.unbooked-step[data-step="${step}"]`);
      try {
        await send(el.dataset.bookUrl, {step: step, room: slot.resource.id, start: wallTime(slot.date)});
        if (item) item.remove();
        calendar.refetchEvents();
        refreshList();
      } catch (error) {
        showRefusal(error.message);  // the order stays in the list: it snaps back
      }
    });
  }

  // Delegated: htmx replaces the list while others book.
  function enableOrderList() {
    document.addEventListener("dragstart", (event) => {
      const item = event.target.closest && event.target.closest(".unbooked-step");
      if (item) event.dataTransfer.setData("text/plain", item.dataset.step);
    });
    document.addEventListener("keydown", (event) => {
      const item = event.target.closest && event.target.closest(".unbooked-step");
      if (item && event.key === "Enter") window.location.href = item.dataset.bookUrl;
    });
  }

  function keepFresh(calendar) {
    window.setInterval(() => {
      if (!dragging && document.visibilityState === "visible") calendar.refetchEvents();
    }, REFRESH_MS);
  }

  fetch(el.dataset.resourcesUrl, {credentials: "same-origin"})
    .then((response) => response.json())
    .then((resources) => {
      const calendar = createCalendar(resources);
      window.risCalendar = calendar;
      enableDropOfOrders(calendar);
      enableOrderList();
      keepFresh(calendar);
    });
})();
